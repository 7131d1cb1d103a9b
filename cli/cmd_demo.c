/* not yet written */
#include "pipeline/err.h"
