/* not yet written */
#include "tests/support/httpd.h"
