//  cm_cdr_time — CDR time formatting and parsing. See cm_cdr_time.h.
//
//  Formatting runs for every CDR several times (JSON for the journal and
//  IPC, CSV and SQL in cdrd), so it avoids gmtime_r and snprintf: the
//  date comes from the day number with Howard Hinnant's civil_from_days
//  algorithm (proleptic Gregorian calendar, exact for the whole range
//  1970..9999), and the digits are written directly. Parsing uses the
//  inverse, days_from_civil.

#include "cm_cdr_time.h"
#include "cm_cdr_private.h"

#include <assert.h>
#include <ctype.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

#define DAY_MS 86400000LL

//  Year, month (1..12) and day (1..31) of a day number (days since
//  1970-01-01, >= 0).
static void
s_civil_from_days (int64_t days, int *year_p, int *month_p, int *day_p)
{
    days += 719468;                             //  shift epoch to 0000-03-01
    int64_t era = days / 146097;                //  400-year eras
    int64_t doe = days - era * 146097;          //  day of era [0, 146096]
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);  //  [0, 365]
    int64_t mp = (5 * doy + 2) / 153;           //  March-based month [0, 11]
    int month = (int) (mp < 10 ? mp + 3 : mp - 9);
    *year_p = (int) (yoe + era * 400 + (month <= 2));
    *month_p = month;
    *day_p = (int) (doy - (153 * mp + 2) / 5 + 1);
}

//  Day number of a valid date (year >= 1970).
static int64_t
s_days_from_civil (int year, int month, int day)
{
    year -= month <= 2;
    int64_t era = year / 400;
    int64_t yoe = year - era * 400;                          //  [0, 399]
    int64_t doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day
                  - 1;                                       //  [0, 365]
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;     //  [0, 146096]
    return era * 146097 + doe - 719468;
}

//  Write value as exactly width digits at out.
static void
s_put_digits (char *out, int value, int width)
{
    for (int i = width - 1; i >= 0; i--) {
        out[i] = (char) ('0' + value % 10);
        value /= 10;
    }
}

char *
cm_cdr_time_format (int64_t ms, char *buf, size_t size)
{
    assert (buf);
    if (ms <= 0 || ms > CM_CDR_TIME_MAX_MS) {
        if (size)
            buf[0] = '\0';
        return buf;
    }
    int year, month, day;
    s_civil_from_days (ms / DAY_MS, &year, &month, &day);
    int64_t in_day = ms % DAY_MS;
    int secs = (int) (in_day / 1000);
    char text[CM_CDR_TIME_SIZE] = "YYYY-MM-DDTHH:MM:SS.mmmZ";
    s_put_digits (text, year, 4);
    s_put_digits (text + 5, month, 2);
    s_put_digits (text + 8, day, 2);
    s_put_digits (text + 11, secs / 3600, 2);
    s_put_digits (text + 14, secs / 60 % 60, 2);
    s_put_digits (text + 17, secs % 60, 2);
    s_put_digits (text + 20, (int) (in_day % 1000), 3);
    if (size >= CM_CDR_TIME_SIZE)
        memcpy (buf, text, CM_CDR_TIME_SIZE);
    else if (size) {
        memcpy (buf, text, size - 1);
        buf[size - 1] = '\0';
    }
    return buf;
}

//  Read n digits at text into *value_p; -1 if any is not a digit.
static int
s_digits (const char *text, int n, int *value_p)
{
    int value = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit ((unsigned char) text[i]))
            return -1;
        value = value * 10 + (text[i] - '0');
    }
    *value_p = value;
    return 0;
}

int
cm_cdr_time_parse (const char *text, int64_t *ms_p)
{
    assert (ms_p);
    //  0123456789012345678901234
    //  YYYY-MM-DDTHH:MM:SS.mmmZ
    if (!text || strlen (text) != CM_CDR_TIME_LEN || text[4] != '-'
        || text[7] != '-' || text[10] != 'T' || text[13] != ':'
        || text[16] != ':' || text[19] != '.' || text[23] != 'Z')
        return -1;
    int year, mon, day, hour, min, sec, msec;
    if (s_digits (text, 4, &year) || s_digits (text + 5, 2, &mon)
        || s_digits (text + 8, 2, &day) || s_digits (text + 11, 2, &hour)
        || s_digits (text + 14, 2, &min) || s_digits (text + 17, 2, &sec)
        || s_digits (text + 20, 3, &msec))
        return -1;
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    if (year < 1970 || mon < 1 || mon > 12 || day < 1
        || day > days[mon - 1] + (mon == 2 && leap) || hour > 23 || min > 59
        || sec > 59)
        return -1;
    int64_t ms = s_days_from_civil (year, mon, day) * DAY_MS
                 + ((int64_t) hour * 3600 + min * 60 + sec) * 1000 + msec;
    if (ms <= 0)
        return -1;  //  1970-01-01T00:00:00.000Z is the "unset" value
    *ms_p = ms;
    return 0;
}

int64_t
cm_cdr_now (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_REALTIME, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
