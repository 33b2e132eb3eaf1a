/* Printing loaded reports as text, shared by `run` and `report`. */
#include "cli.h"

#include <unistd.h>

int cli_print_text(struct st_report *reports, int count, int fd)
{
    struct st_out out;
    st_out_init(&out, fd);
    for (int i = 0; i < count; i++) {
        if (st_report_leak_count(&reports[i]) > 0) {
            st_report_write_text(&reports[i], &out);
        } else {
            st_report_write_summary(&reports[i], &out);
            st_out_char(&out, '\n');
        }
    }
    st_out_flush(&out);
    return out.error;
}
