/* fuzz_timeutil_corpus.c — replays the inputs of fuzz/fuzz_timeutil.c through the
 * driver's checks without libFuzzer, so the normal build and `make test` run
 * them (spec/fuzz_corpus_spec.lua calls it with fuzz/corpus/timeutil).
 *   build/tests/fuzz_timeutil_corpus FILE_OR_DIR...   -> "N inputs ok", exit 0 */
#include "../../fuzz/fuzz_timeutil.c"
#include "../../fuzz/replay.h"
