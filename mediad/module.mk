# mediad/ — RTP relay and call recording.
PROGRAMS += mediad
mediad_SRCS := $(wildcard mediad/*.c)
