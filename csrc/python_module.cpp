// The Python module `ood_ext._C`. It defines no functions: importing it loads this shared
// library, whose static initialisers register the ood_ext operators with the dispatcher.
#include <Python.h>

extern "C" PyMODINIT_FUNC PyInit__C(void) {
  static PyModuleDef module = {PyModuleDef_HEAD_INIT, "_C", "ood_ext operator library", -1, nullptr};
  return PyModule_Create(&module);
}
