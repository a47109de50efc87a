#include "zmesh/circuit/types.hpp"

#include "zmesh/crypto/secure.hpp"

namespace zmesh::circuit {

wire::Cell make_cell(const LinkCircuit& c, wire::CellCommand cmd) {
    wire::Cell cell{};
    wire::set_cell_header(cell, c.id, cmd);
    return cell;
}

std::uint32_t fresh_circuit_id(PeerRef peer, const std::function<bool(const LinkCircuit&)>& taken) {
    std::uint32_t id = 0;
    do {
        crypto::random_bytes(MutByteView{reinterpret_cast<std::uint8_t*>(&id), sizeof id});
    } while (id == 0 || taken({peer, id}));
    return id;
}

wire::Cell make_destroy(const LinkCircuit& c, DestroyReason reason) {
    wire::Cell cell = make_cell(c, wire::CellCommand::destroy);
    cell[wire::kCellHeaderSize] = static_cast<std::uint8_t>(reason);
    return cell;
}

}  // namespace zmesh::circuit
