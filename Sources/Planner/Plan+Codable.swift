// SPDX-License-Identifier: GPL-3.0-or-later

import Topology

/// A move in the plan file's shape (`server_id`, `from`, `to`, `numa_nodes`, `wave`; null
/// `from`/`to` is the public pool).
extension Move: Codable {
    enum CodingKeys: String, CodingKey {
        case from, to, wave
        case serverID = "server_id"
        case numaNodes = "numa_nodes"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            serverID: try c.decode(String.self, forKey: .serverID), from: try c.decodeIfPresent(String.self, forKey: .from),
            to: try c.decodeIfPresent(String.self, forKey: .to), numaNodes: try c.decodeIfPresent([Int].self, forKey: .numaNodes),
            wave: try c.decodeIfPresent(Int.self, forKey: .wave) ?? 1)
        guard wave >= 1 else { throw DecodingError.dataCorruptedError(forKey: .wave, in: c, debugDescription: "a wave is numbered from 1") }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(serverID, forKey: .serverID)
        try c.encode(from, forKey: .from)
        try c.encode(to, forKey: .to)
        try c.encode(numaNodes, forKey: .numaNodes)
        try c.encode(wave, forKey: .wave)
    }
}

/// The whole plan through `Codable`, in the plan file's format (docs/JSON.md): decoding runs the
/// plan file's checks (`Plan.decode`) and throws `InventoryError` with every problem's path.
extension Plan: Codable {
    public init(from decoder: any Decoder) throws {
        self = try Plan.decode(JSON(from: decoder))
    }

    public func encode(to encoder: any Encoder) throws {
        try json.encode(to: encoder)
    }
}
