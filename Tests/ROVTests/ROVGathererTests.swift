import AMQPRPC
import ErizoCore
import ErizoRoleSupport
import ErizoTesting
import ErizoWire
import Synchronization
import Testing

@testable import ROV

/// ROV's gatherer against roles that misbehave, on the in-process bus (one module, its peers faked;
/// `ROVProcessTests` runs it against the real roles and a real Prometheus).
@Suite("ROV gatherer and bad replies")
struct ROVGathererTests {
  /// The value of one exposition line (`name{labels} value`), nil when absent.
  static func value(_ text: String, _ series: String) -> Double? {
    for line in text.split(separator: "\n") where line.hasPrefix(series + " ") {
      return Double(line.split(separator: " ").last ?? "")
    }
    return nil
  }

  @Test func wrongShapesSilentRolesAndAChangingListKeepHonestSeries() async throws {
    let maker = InProcessBusMaker()
    let buses = (0..<5).map { _ in maker.makeBus().0 }
    let (rovBus, nuveBus, controllerBus, agentBus, oddAgentBus) = (buses[0], buses[1], buses[2], buses[3], buses[4])
    // Nuve lists three controllers, then only the first (the list changes between gathers).
    let nuveCalls = Mutex(0)
    try await withRunningBuses(buses) { _ in
      await nuveBus.serve(queue: BusTopology.nuveQueue, routingKey: BusTopology.nuveRoutingKey) { _ in
        let call = nuveCalls.withLock { count in
          count += 1
          return count
        }
        return .data(call == 1 ? [["_id": "c1"], ["_id": "c2"], ["_id": "c3"]] : [["_id": "c1"]])
      }
      // c1 answers well, c2 with the wrong shape, c3 never.
      await controllerBus.serve(queue: BusTopology.controllerQueue("c1"), routingKey: nil) { _ in
        .data(["rooms": 2, "clients": 5])
      }
      await controllerBus.serve(queue: BusTopology.controllerQueue("c2"), routingKey: nil) { _ in
        .data(["rooms": "many"])
      }
      await controllerBus.serve(queue: BusTopology.controllerQueue("c3"), routingKey: nil) { _ in .none }
      await agentBus.subscribe(topic: BusTopology.agentTopic) { _ in
        .data([
          "id": "a1", "rooms": 2, "producers": 3, "consumers": 4, "produceScore": 9.5, "consumeScore": 7,
          "workers": [["index": 0, "running": true, "cpu": 12.5, "forwardedPackets": 1000]],
        ])
      }
      await oddAgentBus.subscribe(topic: BusTopology.agentTopic) { _ in .data(["id": 5, "rooms": []]) }

      let configuration = try ErizoConfiguration.load(json: nil, environment: [:]).rov
      let state = ROVState()
      var gatherer = ROVGatherer(configuration: configuration, bus: rovBus, state: state, logger: testLogger("rov"))
      // The in-process bus answers in microseconds, but with the whole suite loading both cores a
      // reply has taken over 300 ms: the silent and slow cases wait this long per gather.
      gatherer.agentWindow = .milliseconds(1500)
      gatherer.callTimeout = .milliseconds(1500)

      await gatherer.gather()
      var text = state.exposition(prefix: "mediasoup_")
      #expect(Self.value(text, "erizo_cluster_nuve_up") == 1)
      #expect(Self.value(text, #"erizo_cluster_role_up{role="controller",id="c1"}"#) == 1)
      #expect(Self.value(text, #"erizo_cluster_role_up{role="controller",id="c2"}"#) == 0, "wrong shape: down")
      #expect(Self.value(text, #"erizo_cluster_role_up{role="controller",id="c3"}"#) == 0, "silent: down")
      #expect(Self.value(text, "mediasoup_active_rooms") == 2 && Self.value(text, "mediasoup_active_clients") == 5)
      #expect(
        Self.value(text, "mediasoup_total_publishers") == 3 && Self.value(text, "mediasoup_total_subscribers") == 4)
      #expect(Self.value(text, "mediasoup_produce_score") == 9.5 && Self.value(text, "mediasoup_consume_score") == 7)
      #expect(
        Self.value(text, #"erizo_cluster_worker_forwarded_packets_total{agent="a1",worker="0"}"#) == 1000)
      #expect(Self.value(text, "erizo_rov_malformed_replies_total") == 2, "c2 and the odd agent")

      // Second gather: Nuve lists only c1; c2 and c3 are gone from the series, not kept stale.
      await gatherer.gather()
      text = state.exposition(prefix: "mediasoup_")
      #expect(Self.value(text, #"erizo_cluster_role_up{role="controller",id="c1"}"#) == 1)
      #expect(!text.contains(#"id="c2""#) && !text.contains(#"id="c3""#))
      #expect(Self.value(text, "erizo_rov_gathers_total") == 2)

      // Nuve stops answering: it is down, the controllers it last listed are still asked.
      nuveBus.shutdown()
      await gatherer.gather()
      text = state.exposition(prefix: "mediasoup_")
      #expect(Self.value(text, "erizo_cluster_nuve_up") == 0)
      #expect(Self.value(text, "erizo_rov_nuve_failures_total") == 1)
      #expect(Self.value(text, #"erizo_cluster_role_up{role="controller",id="c1"}"#) == 1)

      // The agent goes away: down (not its old values) for the next gathers.
      agentBus.shutdown()
      await gatherer.gather()
      text = state.exposition(prefix: "mediasoup_")
      #expect(Self.value(text, #"erizo_cluster_role_up{role="agent",id="a1"}"#) == 0)
      #expect(Self.value(text, "mediasoup_total_publishers") == 0)
      #expect(Self.value(text, "mediasoup_produce_score") == 10, "10 with no agents, as the reference")
    }
  }
}
