/* For unit tests of the parsers (options, suppressions): collects every
 * message a parser gives through its error callback, one per line. */
#ifndef STRAYS_TEST_MESSAGES_H
#define STRAYS_TEST_MESSAGES_H

struct errors {
    int count;
    char text[8192];
};

/* The parsers' error callback: ctx is a struct errors. Fails the test on a
 * message that is not one line. */
void collect(void *ctx, const char *message);

#endif
