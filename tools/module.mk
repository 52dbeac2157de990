# tools/ — sipctl, the command-line client of the daemons' control sockets.
PROGRAMS += sipctl
sipctl_SRCS := tools/sipctl.c
