/*
 * logq.h — proved questions to the relay's transparency log: where a given
 * envelope was deposited, and whether (and where) a mailbox owner's signed
 * acknowledgement names it. Every leaf an answer rests on is proved by its
 * inclusion proof against a checkpoint this vault accepted (one consistent
 * with everything the relay signed before, pl_audit_checkpoint); a leaf
 * that does not prove is evidence, kept like a fork, and the answer is
 * PL_EXIT_SECURITY.
 *
 * What it must never do: answer from a leaf it did not prove, or take a
 * checkpoint that does not extend the ones the vault holds.
 */
#ifndef PARLEY_CLIENT_LOGQ_H
#define PARLEY_CLIENT_LOGQ_H

#include <stdint.h>

#include "client/relay_client.h"
#include "log/receipt.h"
#include "util/err.h"
#include "vault/vault.h"

typedef struct pl_logq pl_logq;

/* A query context on the vault's relay. c: an open connection (not owned),
 * or NULL to open one at the first question. defer: keep evidence in
 * memory and write it at pl_logq_close (for a caller inside a transaction
 * that may be rolled back); otherwise it is written at once. */
int pl_logq_open(pl_logq **q, pl_vault *v, pl_rc_conn *c, int defer, pl_err *e);
/* Writes deferred evidence (outside any transaction), then frees. -1 if
 * some could not be written. q may be NULL. */
int pl_logq_close(pl_logq *q, pl_err *e);
/* Whether a leaf failed its proof, or an answer was malformed, during this
 * context's life (evidence was kept). */
int pl_logq_caught(const pl_logq *q);

/* Makes sure the accepted checkpoint covers `size` leaves, taking a fresh
 * one when it does not; 0 yes, 1 the relay's newest does not either. */
int pl_logq_cover(pl_logq *q, uint64_t size, pl_err *e);

/* The deposit leaf of the envelope with SHA-256 `hash` (and relay seq `seq`,
 * 0 if unknown) in mailbox mbx, as a receipt (the leaf, its proof and the
 * checkpoint note: log/receipt.h) proved under the relay key. A fresh
 * checkpoint is taken if the accepted one does not show it. 0 found, 1 not
 * in the log the relay has signed (yet), -1 error (PL_EXIT_SECURITY: a leaf
 * did not prove; evidence kept). */
int pl_logq_deposit(pl_logq *q, const uint8_t mbx[static 32], const uint8_t hash[static 32],
		    uint64_t seq, pl_receipt *out, pl_err *e);

/* The first acknowledgement leaf of owner's mailbox with index in
 * [from, below), signed by owner (pl_leaf_ack_verify), that names the
 * envelope (seq, hash); below must be covered by the accepted checkpoint
 * (pl_logq_cover). 0 found (*index), 1 none, -1 error as above. */
int pl_logq_first_ack(pl_logq *q, const uint8_t owner[static 32], uint64_t from, uint64_t below,
		      uint64_t seq, const uint8_t hash[static 32], uint64_t *index, pl_err *e);

#endif
