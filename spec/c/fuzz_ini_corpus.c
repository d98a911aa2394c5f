/* fuzz_ini_corpus.c — replays the inputs of fuzz/fuzz_ini.c through the
 * driver's checks without libFuzzer, so the normal build and `make test` run
 * them (spec/fuzz_corpus_spec.lua calls it with fuzz/corpus/ini).
 *   build/tests/fuzz_ini_corpus FILE_OR_DIR...   -> "N inputs ok", exit 0 */
#include "../../fuzz/fuzz_ini.c"
#include "../../fuzz/replay.h"
