# Turns file IN into a C source OUT defining vmmapid_openapi[] and its length.
file(READ ${IN} hex HEX)
string(LENGTH "${hex}" hexlen)
math(EXPR len "${hexlen} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
file(WRITE ${OUT}
  "#include <stddef.h>\n"
  "const char vmmapid_openapi[] = {${bytes}0x00};\n"
  "const size_t vmmapid_openapi_len = ${len};\n")
