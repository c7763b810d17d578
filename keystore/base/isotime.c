/* Times in messages: ISO 8601 in UTC, as every error and log line of azkm prints them. */
#include <stdio.h>
#include <time.h>

#include "base/base.h"

const char *azkm_iso_time(int64_t t, char buf[AZKM_ISO_TIME_LEN])
{
    time_t tt = (time_t)t;
    struct tm tm;

    if (gmtime_r(&tt, &tm) == NULL || strftime(buf, AZKM_ISO_TIME_LEN, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(buf, AZKM_ISO_TIME_LEN, "%lld", (long long)t);
    return buf;
}
