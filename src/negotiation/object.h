/*
 * object.h — the signed negotiation objects of docs/NEGOTIATION.md:
 * outreach, proposal, response (accept, reject, withdraw), humanitarian
 * request and its answer. This module owns their one canonical encoding,
 * the one strict decoder, and the signature over exact bytes.
 *
 * Decoded objects live in fixed-size structs (strings NUL-terminated in
 * arrays sized to their limits + 1), so decoding untrusted bytes never
 * allocates. Encode refuses exactly what decode refuses, so for every valid
 * object decode(encode(o)) == o and encode(decode(b)) == b.
 *
 * It must never hand out an object whose signature it has not checked
 * (pl_obj_decode_signed is the door for anything received), and never sign
 * bytes it would not itself accept.
 */
#ifndef PARLEY_NEGOTIATION_OBJECT_H
#define PARLEY_NEGOTIATION_OBJECT_H

#include <stddef.h>
#include <stdint.h>

#include "identity/identity.h"
#include "util/err.h"
#include "util/wire.h"

/* Version 2 (written) carries only the shared fields of a person: ref,
 * name, held by, nationality, born and the shared summary (humanitarian).
 * Version 1 (still read and verified: signed bytes are what they are) also
 * carried since, charges, sentence and the author's priority. */
#define PL_OBJ_VERSION 2
#define PL_OBJ_VERSION_1 1
/* Version 3: a proposal that carries commitments (written only then, so
 * that every version 1 and 2 object keeps its exact bytes; builds before
 * it refuse version 3). Persons are encoded as in version 2. */
#define PL_OBJ_VERSION_3 3
#define PL_OBJ_ID_LEN 8
#define PL_OBJ_ID_HEX_LEN 17 /* 16 hex digits + NUL */
#define PL_OBJ_REF_LEN 8
#define PL_OBJ_HASH_LEN 32
#define PL_OBJ_HEADER_LEN (2 + PL_OBJ_ID_LEN + 2 * PL_IK_LEN + 8)
/* A signed object must fit one payload body (PL_PAYLOAD_MAX_BODY). */
#define PL_OBJ_SIGNED_MAX 60000
#define PL_OBJ_SIG_TAG "parley object v1\n"

/* Limits in bytes of UTF-8 (docs/NEGOTIATION.md). */
#define PL_PERSON_NAME_MAX 128
#define PL_PERSON_HELD_BY_MAX 64
#define PL_PERSON_NATIONALITY_MAX 128
#define PL_PERSON_BORN_MAX 32
#define PL_PERSON_SINCE_MAX 32
#define PL_PERSON_CHARGES_MAX 512
#define PL_PERSON_SENTENCE_MAX 256
#define PL_PERSON_HUMANITARIAN_MAX 512
#define PL_PERSON_PRIORITY_MAX 100

#define PL_OUTREACH_TOPIC_MAX 1024
#define PL_PROPOSAL_SIDE_MAX 32 /* persons on each side */
#define PL_PROPOSAL_COND_MAX 16 /* conditions */
#define PL_PROPOSAL_COND_LEN 1024
#define PL_PROPOSAL_PLACE_MAX 256
#define PL_MEDIATOR_NAME_MAX 64
#define PL_RESPONSE_REASON_MAX 1024
#define PL_REQUEST_TEXT_MAX 2048
#define PL_ANSWER_TEXT_MAX 2048
#define PL_PROPOSAL_COMMIT_MAX 16 /* commitments in a proposal */
#define PL_COMMIT_TEXT_MAX 1024
#define PL_GUARANTEE_TEXT_MAX 2048

typedef enum {
	PL_OBJ_OUTREACH = 1,
	PL_OBJ_PROPOSAL = 2,
	PL_OBJ_RESPONSE = 3,
	PL_OBJ_REQUEST = 4,
	PL_OBJ_ANSWER = 5,
	PL_OBJ_GUARANTEE = 6
} pl_obj_type;

/* Who takes on a commitment in a proposal's terms. */
typedef enum {
	PL_COMMIT_AUTHOR = 1,
	PL_COMMIT_RECIPIENT = 2,
	PL_COMMIT_MEDIATOR = 3
} pl_commit_who;

typedef enum { PL_SEQ_UNSPECIFIED = 0, PL_SEQ_SIMULTANEOUS = 1, PL_SEQ_STAGED = 2 } pl_sequencing;
typedef enum { PL_RESP_ACCEPT = 1, PL_RESP_REJECT = 2, PL_RESP_WITHDRAW = 3 } pl_response_kind;
typedef enum {
	PL_REQ_MEDICAL_LEAVE = 1,
	PL_REQ_CONSULAR_ACCESS = 2,
	PL_REQ_PROOF_OF_LIFE = 3,
	PL_REQ_RELEASE = 4
} pl_request_kind;
typedef enum { PL_URG_ROUTINE = 1, PL_URG_URGENT = 2, PL_URG_CRITICAL = 3 } pl_urgency;
typedef enum { PL_DECISION_GRANT = 1, PL_DECISION_DENY = 2 } pl_decision;

/* A detainee as carried in proposals and requests. charges, sentence and
 * humanitarian may hold newlines; the other strings are one line. In a
 * version 2 object humanitarian is the summary the author chose to share,
 * and since, charges, sentence and priority are empty/0 (not on the wire). */
typedef struct {
	uint8_t ref[PL_OBJ_REF_LEN]; /* the author's case record reference */
	char name[PL_PERSON_NAME_MAX + 1];
	char held_by[PL_PERSON_HELD_BY_MAX + 1];
	char nationality[PL_PERSON_NATIONALITY_MAX + 1];
	char born[PL_PERSON_BORN_MAX + 1];
	char since[PL_PERSON_SINCE_MAX + 1];
	char charges[PL_PERSON_CHARGES_MAX + 1];
	char sentence[PL_PERSON_SENTENCE_MAX + 1];
	char humanitarian[PL_PERSON_HUMANITARIAN_MAX + 1];
	uint8_t priority; /* 0..100 */
} pl_person;

typedef struct {
	char topic[PL_OUTREACH_TOPIC_MAX + 1]; /* 1.., may hold newlines */
} pl_outreach;

typedef struct {
	uint8_t n_author; /* persons the author releases */
	pl_person author[PL_PROPOSAL_SIDE_MAX];
	uint8_t n_recipient; /* persons the recipient releases */
	pl_person recipient[PL_PROPOSAL_SIDE_MAX];
	uint8_t n_cond;
	/* conditions: one line each, 1..PL_PROPOSAL_COND_LEN bytes */
	char cond[PL_PROPOSAL_COND_MAX][PL_PROPOSAL_COND_LEN + 1];
	/* one line, may be empty */
	char place[PL_PROPOSAL_PLACE_MAX + 1];
	uint8_t sequencing; /* pl_sequencing */
	/* 0/1; when 0 the mediator key and name are not encoded (zero them) */
	uint8_t has_mediator;
	uint8_t mediator_ik[PL_IK_LEN];
	char mediator_name[PL_MEDIATOR_NAME_MAX + 1]; /* one line, 1.. */
	/* unix s, 0 = never: may be accepted by a response created <= expires */
	uint64_t expires;
	/* the proposal this one counters: all zero = none, hash zero iff none */
	uint8_t supersedes_id[PL_OBJ_ID_LEN];
	uint8_t supersedes_hash[PL_OBJ_HASH_LEN];
	/* Version 3 only (1..PL_PROPOSAL_COMMIT_MAX; 0 in versions 1 and 2):
	 * what each signer takes on beyond the releases. A mediator's
	 * commitment needs has_mediator, and binds it only once it guarantees
	 * the agreement. Text: one line, 1..PL_COMMIT_TEXT_MAX bytes. */
	uint8_t n_commit;
	struct {
		uint8_t who; /* pl_commit_who */
		char text[PL_COMMIT_TEXT_MAX + 1];
	} commit[PL_PROPOSAL_COMMIT_MAX];
} pl_proposal;

typedef struct {
	uint8_t kind; /* pl_response_kind */
	uint8_t target_id[PL_OBJ_ID_LEN];
	uint8_t target_hash[PL_OBJ_HASH_LEN];	 /* never all zero */
	char reason[PL_RESPONSE_REASON_MAX + 1]; /* may hold newlines, may be empty */
} pl_response;

typedef struct {
	pl_person person;
	uint8_t kind;			    /* pl_request_kind */
	uint8_t urgency;		    /* pl_urgency */
	char text[PL_REQUEST_TEXT_MAX + 1]; /* may hold newlines, may be empty */
} pl_request;

typedef struct {
	uint8_t target_id[PL_OBJ_ID_LEN];
	uint8_t target_hash[PL_OBJ_HASH_LEN]; /* never all zero */
	uint8_t decision;		      /* pl_decision */
	char text[PL_ANSWER_TEXT_MAX + 1];    /* may hold newlines, may be empty */
} pl_answer;

/* The mediator's countersignature of an agreement: the proposal that names
 * it and the acceptance of that proposal, each by id and the SHA-256 of its
 * signed bytes. Signed by the mediator; one is addressed to each party. */
typedef struct {
	uint8_t proposal_id[PL_OBJ_ID_LEN];
	uint8_t proposal_hash[PL_OBJ_HASH_LEN]; /* never all zero */
	uint8_t acceptance_id[PL_OBJ_ID_LEN];
	uint8_t acceptance_hash[PL_OBJ_HASH_LEN]; /* never all zero */
	char text[PL_GUARANTEE_TEXT_MAX + 1];	  /* may hold newlines, may be empty */
} pl_guarantee;

/* One object: the envelope, the body of its type, and (once signed or
 * decoded) its signature. About 125 KB (a proposal's worst case): allocate
 * it rather than keep several on the stack. */
typedef struct {
	uint8_t version;		 /* PL_OBJ_VERSION, or PL_OBJ_VERSION_1 read */
	uint8_t type;			 /* pl_obj_type */
	uint8_t id[PL_OBJ_ID_LEN];	 /* random, never all zero */
	uint8_t author_ik[PL_IK_LEN];	 /* the key id of the signature */
	uint8_t recipient_ik[PL_IK_LEN]; /* never the author */
	uint64_t created;		 /* unix s, author's clock */
	union {
		pl_outreach outreach;
		pl_proposal proposal;
		pl_response response;
		pl_request request;
		pl_answer answer;
		pl_guarantee guarantee;
	} u;
	uint8_t sig[PL_SIG_LEN]; /* set by pl_obj_sign and pl_obj_decode_signed */
} pl_obj;

/* Zeroes o and sets version, type, a fresh random id, created = now. The
 * author and recipient keys and the body are the caller's to fill. */
void pl_obj_init(pl_obj *o, pl_obj_type type);

/* Appends the canonical unsigned bytes of o to w. -1 (w unchanged) if o is
 * anything the decoder would refuse; e says which field. */
int pl_obj_encode(pl_wr *w, const pl_obj *o, pl_err *e);
/* Appends object ‖ o->sig: the signed bytes as they were received. */
int pl_obj_encode_signed(pl_wr *w, const pl_obj *o, pl_err *e);

/* Sets o->author_ik to the author's key, signs, stores o->sig and appends
 * the signed bytes (object ‖ sig) to signed_out. -1 with nothing appended if
 * o is invalid (e.g. the recipient is the author). */
int pl_obj_sign(pl_wr *signed_out, pl_obj *o, const pl_identity *author, pl_err *e);

/* The door for received bytes: strict decode of object ‖ sig, every key
 * checked with pl_ik_validate, and the signature verified under the author
 * key the object names. On failure o is zeroed and e says why:
 * PL_EXIT_INPUT for malformed bytes, PL_EXIT_SECURITY for a bad key or
 * signature. */
int pl_obj_decode_signed(pl_obj *o, const uint8_t *p, size_t n, pl_err *e);

/* Strict decode of unsigned object bytes, signature NOT checked (o->sig is
 * zeroed). For tests, fuzzing and callers that verify separately; never the
 * way to accept a received object. */
int pl_obj_parse(pl_obj *o, const uint8_t *p, size_t n, pl_err *e);

/* SHA-256 of the signed bytes: how responses and answers name an object. */
void pl_obj_hash(uint8_t out[static PL_OBJ_HASH_LEN], const uint8_t *signed_bytes, size_t n);

/* 16 lowercase hex digits of an id; parse takes exactly 16 hex digits. */
void pl_obj_id_hex(char out[static PL_OBJ_ID_HEX_LEN], const uint8_t id[static PL_OBJ_ID_LEN]);
int pl_obj_id_parse(uint8_t id[static PL_OBJ_ID_LEN], const char *hex);

/* Name tables. to_str returns NULL for an unknown value; from_str returns
 * the value, or -1 for an unknown name. Names are the CLI's words:
 *   type: outreach proposal response request answer guarantee
 *   sequencing: unspecified simultaneous staged
 *   response: accept reject withdraw
 *   request: medical-leave consular-access proof-of-life release
 *   urgency: routine urgent critical
 *   decision: grant deny */
const char *pl_obj_type_to_str(int v);
int pl_obj_type_from_str(const char *s);
const char *pl_obj_sequencing_to_str(int v);
int pl_obj_sequencing_from_str(const char *s);
const char *pl_obj_response_kind_to_str(int v);
int pl_obj_response_kind_from_str(const char *s);
const char *pl_obj_request_kind_to_str(int v);
int pl_obj_request_kind_from_str(const char *s);
const char *pl_obj_urgency_to_str(int v);
int pl_obj_urgency_from_str(const char *s);
const char *pl_obj_decision_to_str(int v);
int pl_obj_decision_from_str(const char *s);
/* commitment: author recipient mediator */
const char *pl_obj_commit_who_to_str(int v);
int pl_obj_commit_who_from_str(const char *s);

/* The field checks the codec applies, for callers that build objects from
 * user input and want the error before signing: 0 iff s (NUL-terminated) is
 * acceptable text of min..max bytes (newline allowed iff multiline). */
int pl_obj_text_ok(const char *s, size_t min, size_t max, int multiline);
/* 0 iff p would be accepted as a person record; e names the field. */
int pl_obj_person_check(const pl_person *p, pl_err *e);

#endif
