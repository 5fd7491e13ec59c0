#include <libxml/xmlversion.h>
// libxml2's encoding.h pulls in the system ICU headers when libxml2 was built with ICU. Their types
// (UErrorCode, ...) clash with the copies in Foundation's _FoundationICU module wherever Swift imports
// both, which fails a clean build. We never touch the ICU members of xmlCharEncodingHandler (libxml2
// allocates and uses that struct itself), so the ICU declarations are left out of this module.
#undef LIBXML_ICU_ENABLED
#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>
#include <libxml/SAX2.h>
