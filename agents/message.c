/* message.c: not yet written */
#include "agents/model.h"
