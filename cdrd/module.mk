# cdrd/ — CDR store; minicdr (CDR file tool) lives here too.
PROGRAMS += cdrd minicdr
cdrd_SRCS := $(filter-out cdrd/minicdr%.c,$(wildcard cdrd/*.c))
minicdr_SRCS := $(wildcard cdrd/minicdr*.c)
