//  sipd_throttle — counts failed authentications per source address and
//  blocks addresses that fail too often (see sipd_throttle.h).
//
//  Each tracked address has a window start and a failure count. The first
//  failure opens a window of auth_fail_window seconds; when the count
//  reaches auth_fail_limit inside it, the address is blocked until now +
//  auth_block_time. A block is logged when it starts, and once more when
//  it ends with the number of requests refused meanwhile, so a flood of
//  guesses produces two log lines, not thousands.

#include "sipd_throttle.h"
#include "cm_log.h"

#include <czmq.h>
#include <time.h>

//  One tracked address.
typedef struct {
    int64_t window_start;       //  start of the current counting window
    int failures;               //  failures inside the window
    int64_t blocked_until;      //  0, or the end of the block
    size_t refused;             //  requests refused during this block
} s_entry_t;

struct _sipd_throttle_t {
    int limit;                  //  failures that trigger a block
    int window;                 //  seconds failures are counted over
    int block_time;             //  seconds an address stays blocked
    zhashx_t *entries;          //  ip -> s_entry_t (owned)
    bool full_warned;           //  "table full" logged since last expire
    sipd_clock_fn *clock;       //  time source
    void *clock_arg;            //  its argument (borrowed)
};

static void
s_free (void **item_p)
{
    free (*item_p);
    *item_p = NULL;
}

sipd_throttle_t *
sipd_throttle_new (int limit, int window, int block_time)
{
    sipd_throttle_t *self
        = (sipd_throttle_t *) zmalloc (sizeof (sipd_throttle_t));
    self->limit = limit < 1 ? 1 : limit;
    self->window = window < 1 ? 1 : window;
    self->block_time = block_time < 1 ? 1 : block_time;
    self->entries = zhashx_new ();
    zhashx_set_destructor (self->entries, s_free);
    self->clock = sipd_clock_wall;
    return self;
}

void
sipd_throttle_destroy (sipd_throttle_t **self_p)
{
    assert (self_p);
    sipd_throttle_t *self = *self_p;
    if (!self)
        return;
    zhashx_destroy (&self->entries);
    free (self);
    *self_p = NULL;
}

bool
sipd_throttle_is_blocked (sipd_throttle_t *self, const char *ip)
{
    assert (self);
    if (!ip)
        return false;
    s_entry_t *entry = (s_entry_t *) zhashx_lookup (self->entries, ip);
    if (!entry || entry->blocked_until <= self->clock (self->clock_arg))
        return false;
    entry->refused++;
    return true;
}

bool
sipd_throttle_failure (sipd_throttle_t *self, const char *ip)
{
    assert (self);
    if (!ip)
        return false;
    int64_t now = self->clock (self->clock_arg);
    s_entry_t *entry = (s_entry_t *) zhashx_lookup (self->entries, ip);
    if (!entry) {
        if (zhashx_size (self->entries) >= SIPD_THROTTLE_MAX_ENTRIES) {
            sipd_throttle_expire (self);
            if (zhashx_size (self->entries) >= SIPD_THROTTLE_MAX_ENTRIES) {
                if (!self->full_warned)
                    CM_LOG (CM_LOG_WARN, "throttle",
                            "table full (%d addresses): failures from new "
                            "addresses are not counted",
                            SIPD_THROTTLE_MAX_ENTRIES);
                self->full_warned = true;
                return false;
            }
        }
        entry = (s_entry_t *) zmalloc (sizeof (s_entry_t));
        entry->window_start = now;
        zhashx_insert (self->entries, ip, entry);
    }
    if (entry->blocked_until > now)
        return false;   //  already blocked: nothing more to count
    if (now - entry->window_start >= self->window) {
        entry->window_start = now;
        entry->failures = 0;
    }
    entry->failures++;
    if (entry->failures < self->limit)
        return false;
    entry->blocked_until = now + self->block_time;
    entry->failures = 0;
    entry->refused = 0;
    CM_LOG (CM_LOG_WARN, "throttle",
            "src=%s blocked for %d s after %d failed authentications "
            "within %d s",
            ip, self->block_time, self->limit, self->window);
    return true;
}

void
sipd_throttle_success (sipd_throttle_t *self, const char *ip)
{
    assert (self);
    if (!ip)
        return;
    s_entry_t *entry = (s_entry_t *) zhashx_lookup (self->entries, ip);
    if (entry && entry->blocked_until == 0)
        zhashx_delete (self->entries, ip);
    else if (entry)
        entry->failures = 0;
}

void
sipd_throttle_expire (sipd_throttle_t *self)
{
    assert (self);
    int64_t now = self->clock (self->clock_arg);
    zlist_t *doomed = zlist_new ();
    zlist_autofree (doomed);
    for (s_entry_t *entry = (s_entry_t *) zhashx_first (self->entries); entry;
         entry = (s_entry_t *) zhashx_next (self->entries)) {
        const char *ip = (const char *) zhashx_cursor (self->entries);
        if (entry->blocked_until && entry->blocked_until <= now) {
            CM_LOG (CM_LOG_INFO, "throttle",
                    "src=%s unblocked; %zu requests refused while blocked",
                    ip, entry->refused);
            entry->blocked_until = 0;
            entry->refused = 0;
            entry->failures = 0;
            entry->window_start = now;
        }
        if (!entry->blocked_until
            && (entry->failures == 0
                || now - entry->window_start >= self->window))
            zlist_append (doomed, (void *) ip);
    }
    for (char *ip = (char *) zlist_first (doomed); ip;
         ip = (char *) zlist_next (doomed))
        zhashx_delete (self->entries, ip);
    zlist_destroy (&doomed);
    if (zhashx_size (self->entries) < SIPD_THROTTLE_MAX_ENTRIES)
        self->full_warned = false;
}

size_t
sipd_throttle_size (sipd_throttle_t *self)
{
    assert (self);
    return zhashx_size (self->entries);
}

void
sipd_throttle_set_clock (sipd_throttle_t *self, sipd_clock_fn *fn, void *arg)
{
    assert (self);
    self->clock = fn ? fn : sipd_clock_wall;
    self->clock_arg = fn ? arg : NULL;
}
