/* fuzz_pgpass_corpus.c — replays .pgpass fuzz inputs through the fuzz
 * driver's checks without libFuzzer, so the normal build and `make test` run
 * them (spec/pgpass_spec.lua and spec/fuzz_corpus_spec.lua call it with
 * fuzz/corpus/pgpass).
 *   build/tests/fuzz_pgpass_corpus FILE_OR_DIR...   -> "N inputs ok", exit 0 */
#include "../../fuzz/fuzz_pgpass.c"
#include "../../fuzz/replay.h"
