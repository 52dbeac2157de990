# sipd/ — SIP registrar and B2BUA.
PROGRAMS += sipd
sipd_SRCS := $(wildcard sipd/*.c)
