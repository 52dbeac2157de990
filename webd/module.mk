# webd/ — web console and JSON API.
PROGRAMS += webd
webd_SRCS := $(wildcard webd/*.c)
