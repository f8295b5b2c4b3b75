/**
 * proto/ephemeralpeer.proto as protobufjs's JSON descriptor (field names as written, the
 * .proto's `keepCase`), so a run builds its message types from data instead of parsing the
 * .proto text with the full protobufjs and @grpc/proto-loader, which also builds a
 * reflection descriptor nothing here uses. The .proto stays the source: a test parses it
 * and checks this descriptor against it, so the two cannot drift apart.
 */
import type { INamespace } from 'protobufjs/light.js';

/** The EphemeralPeer service and its messages, as `Root.toJSON()` gives them. */
export const EPHEMERALPEER_DESCRIPTOR: INamespace = {
  nested: {
    ephemeralpeer: {
      nested: {
        EphemeralPeer: {
          methods: {
            RegisterPeerV1: {
              requestType: 'EphemeralPeerRequestV1',
              responseType: 'EphemeralPeerResponseV1',
              // Required by protobufjs's typings; the .proto's comments are not carried.
              comment: ''
            }
          }
        },
        EphemeralPeerRequestV1: {
          fields: {
            wg_parent_pubkey: {
              type: 'bytes',
              id: 1
            },
            wg_ephemeral_peer_pubkey: {
              type: 'bytes',
              id: 2
            },
            post_quantum: {
              type: 'PostQuantumRequestV1',
              id: 3
            },
            daita: {
              type: 'DaitaRequestV1',
              id: 4
            },
            daita_v2: {
              type: 'DaitaRequestV2',
              id: 5
            }
          }
        },
        PostQuantumRequestV1: {
          fields: {
            kem_pubkeys: {
              rule: 'repeated',
              type: 'KemPubkeyV1',
              id: 1
            }
          }
        },
        KemPubkeyV1: {
          fields: {
            algorithm_name: {
              type: 'string',
              id: 1
            },
            key_data: {
              type: 'bytes',
              id: 2
            }
          }
        },
        DaitaRequestV1: {
          fields: {
            activate_daita: {
              type: 'bool',
              id: 1
            }
          }
        },
        DaitaRequestV2: {
          fields: {
            version: {
              type: 'uint32',
              id: 1
            },
            platform: {
              type: 'DaitaPlatform',
              id: 2
            },
            level: {
              type: 'DaitaLevel',
              id: 3
            }
          }
        },
        DaitaPlatform: {
          values: {
            undefined: 0,
            windows_native: 1,
            linux_wg_go: 2,
            macos_wg_go: 3,
            ios_wg_go: 4,
            android_wg_go: 5,
            windows_wg_go: 6
          }
        },
        DaitaLevel: {
          values: {
            level_default: 0,
            level_1: 1,
            level_2: 2,
            level_3: 3,
            level_4: 4,
            level_5: 5,
            level_6: 6,
            level_7: 7,
            level_8: 8,
            level_9: 9,
            level_10: 10
          }
        },
        EphemeralPeerResponseV1: {
          fields: {
            post_quantum: {
              type: 'PostQuantumResponseV1',
              id: 1
            },
            daita: {
              type: 'DaitaResponseV2',
              id: 2
            }
          }
        },
        PostQuantumResponseV1: {
          fields: {
            ciphertexts: {
              rule: 'repeated',
              type: 'bytes',
              id: 1
            }
          }
        },
        DaitaResponseV2: {
          fields: {
            client_machines: {
              rule: 'repeated',
              type: 'string',
              id: 1
            },
            max_padding_frac: {
              type: 'double',
              id: 2
            },
            max_blocking_frac: {
              type: 'double',
              id: 3
            }
          }
        }
      }
    }
  }
};
