//  sipd_dialplan — number analysis: what a dialled number reaches.
//
//  An extension number (a key of [extensions]) reaches that extension
//  (direction internal, or inbound when the call comes from the trunk).
//  [sipd] outgoing_prefix followed by dial digits reaches the trunk with
//  the prefix stripped (direction outbound), unless no trunk is configured.
//  Anything else has no route: the caller gets 404 (cause 1). Calls that
//  come from the trunk may only reach extensions (no trunk-to-trunk relay).

#ifndef SIPD_DIALPLAN_H_INCLUDED
#define SIPD_DIALPLAN_H_INCLUDED

#include <czmq.h>
#include <stdbool.h>

typedef struct _sipd_dialplan_t sipd_dialplan_t;

typedef enum {
    SIPD_ROUTE_NONE = 0,        //  no route: answer 404
    SIPD_ROUTE_EXTENSION = 1,   //  an extension's registered contacts
    SIPD_ROUTE_TRUNK = 2        //  the trunk ([sipd] trunk)
} sipd_route_kind_t;

//  Direction of a call as written in the CDR (DESIGN §6).
typedef enum {
    SIPD_DIR_INTERNAL = 0,
    SIPD_DIR_OUTBOUND = 1,
    SIPD_DIR_INBOUND = 2,
    SIPD_DIR_CALLBACK = 3
} sipd_direction_t;

#define SIPD_DIALPLAN_NUMBER_MAX 64

//  Result of number analysis.
typedef struct {
    sipd_route_kind_t kind;                 //  where the call goes
    sipd_direction_t direction;             //  CDR direction
    char number[SIPD_DIALPLAN_NUMBER_MAX];  //  dst: extension, or trunk
                                            //  number with prefix stripped
} sipd_route_t;

//  Create a dial plan. extensions is the [extensions] map (its keys are
//  copied), outgoing_prefix the trunk prefix (may be empty: then no number
//  reaches the trunk), trunk the "host:port" of the trunk or "" for none.
//  The trunk host is resolved once here (start-up may block). Returns NULL
//  if trunk is given but cannot be parsed or resolved.
//  Caller owns return value and must destroy it when done.
sipd_dialplan_t *
    sipd_dialplan_new (zhashx_t *extensions, const char *outgoing_prefix,
                       const char *trunk);

//  Destroy the dial plan. NULL-safe; sets *self_p to NULL.
void
    sipd_dialplan_destroy (sipd_dialplan_t **self_p);

//  Analyse dialed (the Request-URI user part, as dialled). from_trunk is
//  true when the INVITE came from the trunk. Fills *route and returns its
//  kind; SIPD_ROUTE_NONE for anything that goes nowhere (NULL, empty or
//  overlong input included).
sipd_route_kind_t
    sipd_dialplan_route (sipd_dialplan_t *self, const char *dialed,
                         bool from_trunk, sipd_route_t *route);

//  True when number is a configured extension.
bool
    sipd_dialplan_is_extension (sipd_dialplan_t *self, const char *number);

//  True when a trunk is configured.
bool
    sipd_dialplan_has_trunk (sipd_dialplan_t *self);

//  True when a message from ip:port comes from the trunk: same address and
//  port as [sipd] trunk. The port matters: on one host (tests, a local
//  gateway) the phones and the trunk share the address.
bool
    sipd_dialplan_is_trunk_source (sipd_dialplan_t *self, const char *ip,
                                   int port);

//  The trunk's numeric address and port (borrowed; "" and 0 without trunk).
const char *
    sipd_dialplan_trunk_ip (sipd_dialplan_t *self);

int
    sipd_dialplan_trunk_port (sipd_dialplan_t *self);

//  Name of a direction as written in the CDR ("internal", ...).
const char *
    sipd_direction_name (sipd_direction_t direction);

#endif
