//  minicdr — read, convert and filter CDR files (.csv and legacy .cdr).

#include <stdio.h>
#include <string.h>

int
main (int argc, char **argv)
{
    if (argc > 1 && strcmp (argv[1], "--version") == 0) {
        printf ("minicdr %s\n", SIPSERVER_VERSION);
        return 0;
    }
    fprintf (stderr, "usage: minicdr convert IN.cdr OUT.csv | cat FILE...\n");
    return argc > 1 && strcmp (argv[1], "--help") == 0 ? 0 : 2;
}
