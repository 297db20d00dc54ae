/* tocsin entry point (start-up wiring lands with the dispatcher). */
#include <stdio.h>

#include "tocsin/version.h"

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    printf("tocsin, version %s\n", TN_VERSION);
    return 0;
}
