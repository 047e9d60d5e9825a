/*
 * evidence.h — turning what the audit caught into evidence anyone can
 * check offline (docs/PROTOCOL.md "Evidence against the relay"), and writing
 * the evidence file of a vault (export/evidence.h).
 *
 * When the audit finds that the relay's tree does not extend what it signed
 * before, the two checkpoints alone prove a fork only if they have the same
 * size. pl_evidence_probe asks the caught relay for the signed statements
 * that make the contradiction provable: its checkpoint of the older size
 * (another root there is a fork), and, for a receipt (the one the audit
 * was checking, else the vault's newest few inside the current tree), the
 * leaf it now holds at the receipt's index with its inclusion proof
 * (another leaf there is a rewrite). Whatever it proves is kept beside the
 * weaker pair the audit already stored; it never replaces it.
 *
 * Must never: trust anything the relay sends before it verified under the
 * pinned key; make the audit's verdict depend on the probe (the audit has
 * already refused the relay); delete or rewrite stored evidence.
 */
#ifndef PARLEY_CLIENT_EVIDENCE_H
#define PARLEY_CLIENT_EVIDENCE_H

#include <stddef.h>
#include <stdint.h>

#include "client/relay_client.h"
#include "export/evidence.h"
#include "log/receipt.h"
#include "util/err.h"
#include "vault/vault.h"

/* old: a checkpoint note the relay signed before (a receipt's, or the one
 * the vault accepted); r: the receipt it came with, or NULL (then up to 4
 * of the vault's newest receipts are tried); fresh: the relay's current
 * checkpoint, already verified. Best effort: 1 if a provable statement was
 * stored, 0 if none could be had (the relay did not answer, or what it
 * answered proves nothing). */
int pl_evidence_probe(pl_vault *v, pl_rc_conn *c, const uint8_t relay_pk[static 32],
		      const uint8_t *old, size_t oldn, const pl_receipt *r, const uint8_t *fresh,
		      size_t freshn);

/* Writes the vault's evidence against the relay it most recently caught
 * (the pinned one, or the one it moved away from) to path (atomically,
 * replacing a file there, as every export does); that relay's key goes to
 * relay_pk. NOTFOUND if the vault holds none that can go in a file; c says
 * what went in. */
int pl_evidence_write(pl_vault *v, const char *path, pl_evidence_counts *c,
		      uint8_t relay_pk[static 32], pl_err *e);

#endif
