#include "zmesh/wire/cell.hpp"

namespace zmesh::wire {

static_assert(kCellSize == 1200, "cell size is part of the wire format");
static_assert(sizeof(Packet) == kPacketSize);

}  // namespace zmesh::wire
