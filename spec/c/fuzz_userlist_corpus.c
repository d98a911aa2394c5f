/* fuzz_userlist_corpus.c — replays pgbouncer auth_file fuzz inputs through
 * the fuzz driver's checks without libFuzzer, so the normal build and `make
 * test` run them (spec/fuzz_corpus_spec.lua calls it with
 * fuzz/corpus/userlist).
 *   build/tests/fuzz_userlist_corpus FILE_OR_DIR...   -> "N inputs ok", exit 0 */
#include "../../fuzz/fuzz_userlist.c"
#include "../../fuzz/replay.h"
