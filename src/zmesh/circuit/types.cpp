#include "zmesh/circuit/types.hpp"

namespace zmesh::circuit {

wire::Cell make_cell(const LinkCircuit& c, wire::CellCommand cmd) {
    wire::Cell cell{};
    wire::set_cell_header(cell, c.id, cmd);
    return cell;
}

wire::Cell make_destroy(const LinkCircuit& c, DestroyReason reason) {
    wire::Cell cell = make_cell(c, wire::CellCommand::destroy);
    cell[wire::kCellHeaderSize] = static_cast<std::uint8_t>(reason);
    return cell;
}

}  // namespace zmesh::circuit
