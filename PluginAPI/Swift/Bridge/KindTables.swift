import CHubABI

/// One static function table per kind, shared by every instance of this image.
enum KindTables {
    nonisolated(unsafe) static let rules: UnsafeMutablePointer<hub_rules_api_v1> = {  // immutable after init
        let table = UnsafeMutablePointer<hub_rules_api_v1>.allocate(capacity: 1)
        table.initialize(to: hub_rules_api_v1(
            struct_size: UInt32(MemoryLayout<hub_rules_api_v1>.size), reserved0: 0,
            evaluate: { inst, order, out in
                guard let order else { return HUB_INVALID }
                let box = InstanceBox.from(inst)
                return box.call { () throws(PluginError) in
                    fillBuffer(out, try (box.plugin as! any RulesPlugin).evaluate(OrderView(order)))
                }
            }))
        return table
    }()

    nonisolated(unsafe) static let predictor: UnsafeMutablePointer<hub_predictor_api_v1> = {  // immutable after init
        let table = UnsafeMutablePointer<hub_predictor_api_v1>.allocate(capacity: 1)
        table.initialize(to: hub_predictor_api_v1(
            struct_size: UInt32(MemoryLayout<hub_predictor_api_v1>.size), reserved0: 0,
            score: { inst, order, out in
                guard let order else { return HUB_INVALID }
                let box = InstanceBox.from(inst)
                return box.call { () throws(PluginError) in
                    fillBuffer(out, try (box.plugin as! any PredictorPlugin).score(OrderView(order)))
                }
            }))
        return table
    }()

    /// Four connector tables: `inbound` and `query_status` are offered (non-NULL) only to
    /// plugins that conform to CallbackConnectorPlugin / StatusQueryConnectorPlugin, so the
    /// host routes callbacks and starts a reconciler only where they can be answered.
    nonisolated(unsafe) static let connectors: [UnsafeMutablePointer<hub_connector_api_v1>] = (0..<4).map { variant in  // immutable after init
        let table = UnsafeMutablePointer<hub_connector_api_v1>.allocate(capacity: 1)
        table.initialize(to: hub_connector_api_v1(
            struct_size: UInt32(MemoryLayout<hub_connector_api_v1>.size), reserved0: 0,
            deliver: { inst, event, out in
                guard let event else { return HUB_INVALID }
                let box = InstanceBox.from(inst)
                return box.call { () throws(PluginError) in
                    fillBuffer(out, try (box.plugin as! any ConnectorPlugin).deliver(EventView(event)))
                }
            },
            inbound: variant & 1 == 0 ? nil : { inst, event, request, body, out in
                guard let event else { return HUB_INVALID }
                let box = InstanceBox.from(inst)
                let headers = CallbackHeaders.parse(Array(UnsafeRawBufferPointer(start: request.ptr, count: request.len)))
                let raw = Array(UnsafeRawBufferPointer(start: body.ptr, count: body.len))
                return box.call { () throws(PluginError) in
                    fillBuffer(out, try (box.plugin as! any CallbackConnectorPlugin).inbound(EventView(event), headers: headers, body: raw))
                }
            },
            query_status: variant & 2 == 0 ? nil : { inst, context, out in
                let box = InstanceBox.from(inst)
                let bytes = Array(UnsafeRawBufferPointer(start: context.ptr, count: context.len))
                return box.call { () throws(PluginError) in
                    fillBuffer(out, try (box.plugin as! any StatusQueryConnectorPlugin).queryStatus(bytes))
                }
            }))
        return table
    }

    nonisolated(unsafe) static let bus: UnsafeMutablePointer<hub_bus_api_v1> = {  // immutable after init
        let table = UnsafeMutablePointer<hub_bus_api_v1>.allocate(capacity: 1)
        table.initialize(to: hub_bus_api_v1(
            struct_size: UInt32(MemoryLayout<hub_bus_api_v1>.size), reserved0: 0,
            append: { inst, events, eventCount, records, recordCount, outOffset in
                let box = InstanceBox.from(inst)
                return box.call { () throws(PluginError) in
                    let eventViews = (0..<eventCount).compactMap { events?[$0].map(EventView.init) }
                    let recordViews = (0..<recordCount).compactMap { records?[$0].map(IdempotencyRecordView.init) }
                    let offset = try bus(box).append(eventViews, recordViews)
                    outOffset?.pointee = offset
                }
            },
            order_state: { inst, orderID, outState, outSequence in
                let box = InstanceBox.from(inst)
                var found = true
                let status = box.call { () throws(PluginError) in
                    guard let state = try bus(box).orderState(BytesView(orderID).string) else { found = false; return }
                    fillBuffer(outState, state.state)
                    outSequence?.pointee = state.sequence
                }
                return status == HUB_OK && !found ? HUB_NOT_FOUND : status
            },
            timeline: { inst, orderID, out in
                let box = InstanceBox.from(inst)
                var found = true
                let status = box.call { () throws(PluginError) in
                    guard let json = try bus(box).timeline(BytesView(orderID).string) else { found = false; return }
                    fillBuffer(out, json)
                }
                return status == HUB_OK && !found ? HUB_NOT_FOUND : status
            },
            read_from: { inst, after, max, out, outNext in
                let box = InstanceBox.from(inst)
                return box.call { () throws(PluginError) in
                    let page = try bus(box).read(after: after, max: Int(max))
                    fillBuffer(out, page.json)
                    outNext?.pointee = page.next
                }
            },
            idem_lookup: { inst, key, out in
                let box = InstanceBox.from(inst)
                var found = true
                let status = box.call { () throws(PluginError) in
                    guard let json = try bus(box).idempotencyRecord(BytesView(key).string) else { found = false; return }
                    fillBuffer(out, json)
                }
                return status == HUB_OK && !found ? HUB_NOT_FOUND : status
            },
            orders_in_state: { inst, state, max, out in
                let box = InstanceBox.from(inst)
                return box.call { () throws(PluginError) in
                    fillBuffer(out, try bus(box).orders(inState: BytesView(state).string, max: Int(max)))
                }
            },
            kv_get: { inst, ns, key, out, outRev in
                let box = InstanceBox.from(inst)
                var found = true
                let status = box.call { () throws(PluginError) in
                    guard let entry = try bus(box).kvGet(namespace: BytesView(ns).string, key: BytesView(key).string)
                    else { found = false; return }
                    fillBuffer(out, entry.value)
                    outRev?.pointee = entry.revision
                }
                return status == HUB_OK && !found ? HUB_NOT_FOUND : status
            },
            kv_put: { inst, ns, key, value, expect, outRev in
                let box = InstanceBox.from(inst)
                return box.call { () throws(PluginError) in
                    outRev?.pointee = try bus(box).kvPut(
                        namespace: BytesView(ns).string, key: BytesView(key).string,
                        value: BytesView(value).array, expectedRevision: expect)
                }
            },
            flush: { inst in
                let box = InstanceBox.from(inst)
                return box.call { () throws(PluginError) in try bus(box).flush() }
            },
            wait_commits: { inst, after, timeout, outTail in
                let box = InstanceBox.from(inst)
                return box.call { () throws(PluginError) in
                    outTail?.pointee = try bus(box).waitCommits(after: after, timeoutMillis: timeout)
                }
            },
            kv_scan: { inst, afterNamespace, afterKey, max, out in
                let box = InstanceBox.from(inst)
                return box.call { () throws(PluginError) in
                    fillBuffer(out, try bus(box).kvScan(afterNamespace: BytesView(afterNamespace).string,
                                                        afterKey: BytesView(afterKey).string, max: Int(max)))
                }
            },
            idem_scan: { inst, after, max, out in
                let box = InstanceBox.from(inst)
                return box.call { () throws(PluginError) in
                    fillBuffer(out, try bus(box).idempotencyScan(after: BytesView(after).string, max: Int(max)))
                }
            }))
        return table
    }()

    private static func bus(_ box: InstanceBox) -> any StateBusPlugin { box.plugin as! any StateBusPlugin }
}
