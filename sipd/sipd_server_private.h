//  sipd_server_private — what the parts of sipd_server share: constants,
//  the per-transaction context, the server's state and the small helpers
//  defined in sipd_server.c. Only sipd_server*.c include it; the rest of
//  sipd uses sipd_server.h. sipd_server.c describes how the parts work
//  together.

#ifndef SIPD_SERVER_PRIVATE_H_INCLUDED
#define SIPD_SERVER_PRIVATE_H_INCLUDED

#include "sipd_server.h"
#include "sipd_check.h"
#include "sipd_events.h"
#include "sipd_linger.h"
#include "sipd_nist.h"
#include "sipd_registrar.h"
#include "sipd_timerq.h"
#include "sipd_transport.h"

#include <stdatomic.h>
#include <stdint.h>

#define TIMER_MS 20             //  transaction timer granularity
#define RUN_BUDGET 100000       //  transactions run per sipd_server_run at most
#define TRIM_DROP 2048          //  expired transactions before a heap trim
#define SERVER_SUPPORTED ""     //  option tags we support (none yet)
#define SERVER_ACCEPT "application/sdp"

typedef struct {
    sipd_request_fn *fn;        //  TU handler
    void *arg;                  //  its argument
} s_handler_t;

//  Per-transaction context (osip reserved1).
typedef struct {
    int id;                     //  txn_id handed to the TU
    bool client;                //  ICT/NICT
    sipd_source_t peer;         //  source (server) or destination (client)
    sipd_response_fn *fn;       //  client: TU callback or NULL
    void *arg;                  //  its argument
    bool final_seen;            //  client: final response/error reported
    bool killed;                //  ended; freed by sipd_server_collect
    char *key;                  //  match key in ist_map/client_map or NULL
    int64_t due;                //  deadline queued in timerq, -1 none
    bool responded;             //  server: the TU sent a response
    bool listed;                //  still in libosip2's list of its kind
} s_txn_t;

struct _sipd_server_t {
    cm_daemon_t *daemon;        //  borrowed
    zloop_t *loop;              //  borrowed
    cm_config_t *config;        //  borrowed
    osip_t *osip;               //  transaction layer (owned)
    sipd_transport_t *transport;    //  UDP+TCP (owned)
    sipd_events_t *events;      //  PUB socket on [ipc] events (owned)
    sipd_registrar_t *registrar;    //  REGISTER handler (owned)
    char host[64];              //  listen address, numeric
    int port;                   //  listen port
    zhashx_t *handlers;         //  method -> s_handler_t (owned)
    zhashx_t *txns;             //  id -> osip_transaction_t (borrowed)
    zlistx_t *dead;             //  ended transactions to free
    zhashx_t *ist_map;          //  match key -> IST (borrowed)
    zhashx_t *client_map;       //  match key -> ICT/NICT (borrowed)
    zlistx_t *ready;            //  transactions with queued events
    sipd_nist_t *nist;          //  non-INVITE server transactions (owned)
    sipd_linger_t *ist_linger;  //  keys of Confirmed ISTs (owned)
    sipd_timerq_t *timerq;      //  txn_ids by next timer deadline (owned)
    int *due;                   //  txn_ids due in this tick (owned)
    size_t due_slots;           //  its size
    int next_id;                //  next txn_id
    size_t nist_peak;           //  sipd_nist size since the last trim
    char allow[256];            //  Allow header value
    //  A copy of allow for the UDP thread's checks (sipd_server_parse):
    //  replaced, never changed, when a handler comes or goes; the copies
    //  it replaced stay in allow_old until destroy.
    _Atomic (char *) allow_shared;
    zlistx_t *allow_old;        //  char * (owned)
    sipd_check_policy_t policy; //  what validation accepts
    sipd_stray_2xx_fn *stray_fn;    //  2xx without transaction
    void *stray_arg;            //  its argument
    int timer_id;               //  zloop timer
    bool running;               //  inside sipd_server_run
};

//  --------------------------------------------------------------------
//  Helpers (sipd_server.c)

//  The server of a transaction (libosip2's application context).
sipd_server_t *
    sipd_server_self (osip_transaction_t *tr);

//  CLOCK_MONOTONIC in milliseconds.
int64_t
    sipd_server_now_ms (void);

//  A new txn_id (positive, unique for the life of the server).
int
    sipd_server_next_id (sipd_server_t *self);

//  The libosip2 transaction of txn_id, or NULL (ended, or a sipd_nist
//  transaction).
osip_transaction_t *
    sipd_server_txn_lookup (sipd_server_t *self, int txn_id);

#endif
