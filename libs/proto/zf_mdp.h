/*  zf_mdp.h - Majordomo framing (ZeroMQ RFC 18, MDP/0.2) with zflow's extensions.

    The dispatcher is the broker (ROUTER); the registry is its client and the
    executors are its workers (both DEALER). Every message starts with an
    empty delimiter frame, then the protocol header, then one command byte:

      client  [""]["MDPC02"][cmd] ...      worker  [""]["MDPW02"][cmd] ...

    Client protocol (MDPC02):
      REQUEST   0x01  client -> broker   [service][body DISPATCH]
      PARTIAL   0x02  broker -> client   [service][body RESULTS]
      FINAL     0x03  broker -> client   [service][body RESULTS]
      ACK       0x10  client -> broker   [body ACK]
      CANCEL    0x11  client -> broker   [body CANCEL]
      HELLO     0x12  both ways          [body HELLO] / [body HELLO_REPLY]
      HEARTBEAT 0x13  both ways          (no frames)
      ERROR     0x14  broker -> client   [service][body REFUSED]

    Worker protocol (MDPW02):
      READY      0x01  worker -> broker  [service][body WORKER_READY]
      REQUEST    0x02  broker -> worker  [client][""][body JOBS]
      PARTIAL    0x03  worker -> broker  [client][""][body RESULTS]
      FINAL      0x04  worker -> broker  [client][""][body RESULTS]
      HEARTBEAT  0x05  both ways         (no frames)
      DISCONNECT 0x06  both ways         (no frames)
      CANCEL     0x10  broker -> worker  [body CANCEL]
      ACK        0x11  broker -> worker  [body ACK]

    A ROUTER receives [identity][""]...: the caller pops the identity frame
    before parsing, and pushes it in front of a built message before sending.
    The parser checks frame count, header, command byte, direction, service
    name and client address; the body frames are left to the body codecs.
*/
#ifndef ZF_MDP_H_INCLUDED
#define ZF_MDP_H_INCLUDED

#include <czmq.h>
#include "zf_wire.h"

#define ZF_MDPC "MDPC02"
#define ZF_MDPW "MDPW02"

//  Client commands.
#define ZF_MDPC_REQUEST   0x01
#define ZF_MDPC_PARTIAL   0x02
#define ZF_MDPC_FINAL     0x03
#define ZF_MDPC_ACK       0x10
#define ZF_MDPC_CANCEL    0x11
#define ZF_MDPC_HELLO     0x12
#define ZF_MDPC_HEARTBEAT 0x13
#define ZF_MDPC_ERROR     0x14

//  Worker commands.
#define ZF_MDPW_READY      0x01
#define ZF_MDPW_REQUEST    0x02
#define ZF_MDPW_PARTIAL    0x03
#define ZF_MDPW_FINAL      0x04
#define ZF_MDPW_HEARTBEAT  0x05
#define ZF_MDPW_DISCONNECT 0x06
#define ZF_MDPW_CANCEL     0x10
#define ZF_MDPW_ACK        0x11

//  A ROUTER identity (the client frame of worker REQUEST/PARTIAL/FINAL) is
//  1..255 bytes in ZeroMQ.
#define ZF_MDP_MAX_ADDRESS 255

//  Which protocol a message speaks.
typedef enum {
    ZF_MDP_CLIENT = 1, //  MDPC02
    ZF_MDP_WORKER = 2  //  MDPW02
} zf_mdp_protocol_t;

//  Who is parsing: decides which commands are legal to receive.
typedef enum {
    ZF_MDP_AT_BROKER = 1, //  client and worker commands sent to a broker
    ZF_MDP_AT_CLIENT = 2, //  client commands sent by a broker
    ZF_MDP_AT_WORKER = 3  //  worker commands sent by a broker
} zf_mdp_role_t;

//  A parsed message. Frames are borrowed from the zmsg_t that was parsed and
//  stay valid while it does; service is copied.
typedef struct {
    uint8_t protocol;              //  zf_mdp_protocol_t
    uint8_t command;               //  ZF_MDPC_* or ZF_MDPW_*
    char service[ZF_MAX_NAME + 1]; //  service name, or "" if the command has none
    zframe_t *address;             //  worker REQUEST/PARTIAL/FINAL: the client, else NULL
    zframe_t *body;                //  the body frame, or NULL if the command has none
} zf_mdp_msg_t;

//  Builds a client-protocol message. service is needed by REQUEST, PARTIAL,
//  FINAL and ERROR, body by all but HEARTBEAT; body_p's frame is taken
//  (and *body_p set to NULL). Returns NULL if out of memory.
zmsg_t *zf_mdp_client_new (uint8_t command, const char *service, zframe_t **body_p);

//  Builds a worker-protocol message. service is needed by READY, address by
//  REQUEST, PARTIAL and FINAL (taken, like body_p), body by all but
//  HEARTBEAT and DISCONNECT. Returns NULL if out of memory.
zmsg_t *zf_mdp_worker_new (uint8_t command, const char *service, zframe_t **address_p,
                           zframe_t **body_p);

//  Parses a received message (identity frame already popped) as the given
//  role receives it; the message is not modified. Returns 0 and fills *out,
//  or -1 with the reason.
int zf_mdp_parse (zmsg_t *msg, zf_mdp_role_t role, zf_mdp_msg_t *out, zf_proto_error_t *err);

//  "REQUEST", "HEARTBEAT"...; "?" if unknown.
const char *zf_mdp_command_name (zf_mdp_protocol_t protocol, int command);

#endif
