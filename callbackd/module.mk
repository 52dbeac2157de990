# callbackd/ — UDP call-back service for application servers.
PROGRAMS += callbackd
callbackd_SRCS := $(wildcard callbackd/*.c)
