/* fuzz_httperr_corpus.c — replays the inputs of fuzz/fuzz_httperr.c through the
 * driver's checks without libFuzzer, so the normal build and `make test` run
 * them (spec/fuzz_corpus_spec.lua calls it with fuzz/corpus/httperr).
 *   build/tests/fuzz_httperr_corpus FILE_OR_DIR...   -> "N inputs ok", exit 0 */
#include "../../fuzz/fuzz_httperr.c"
#include "../../fuzz/replay.h"
