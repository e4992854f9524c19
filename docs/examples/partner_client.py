#!/usr/bin/python3
r"""A Lodestone partner client: appends a small supply chain, then reads its origin back.

Run with Debian's Python (python3-grpcio, python3-protobuf) and protoc with the gRPC Python
plugin (protobuf-compiler, protobuf-compiler-grpc); see README.md:

    /usr/bin/python3 docs/examples/partner_client.py \
        --ledger 127.0.0.1:7400 --provenance 127.0.0.1:7401

Exit status 0 on success, 1 with a message on stderr otherwise.
"""
import argparse
import importlib
import os
import shutil
import subprocess
import sys
import tempfile
import uuid

PROTO_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "proto")
PROTOS = ["lodestone/v1/events.proto", "lodestone/v1/ledger.proto", "lodestone/v1/provenance.proto"]


def generate_stubs(proto_dir, out_dir):
    """Compiles the wire contract into Python modules under out_dir (no stubs are checked in)."""
    protoc, plugin = shutil.which("protoc"), shutil.which("grpc_python_plugin")
    if not protoc or not plugin:
        sys.exit("error: need protoc and grpc_python_plugin "
                 "(apt-get install protobuf-compiler protobuf-compiler-grpc)")
    includes = ["-I" + proto_dir]
    if os.path.isdir("/usr/include/google/protobuf"):  # timestamp.proto (libprotobuf-dev)
        includes.append("-I/usr/include")
    command = [protoc, *includes, "--python_out=" + out_dir, "--grpc_python_out=" + out_dir,
               "--plugin=protoc-gen-grpc_python=" + plugin]
    command += [os.path.join(proto_dir, p) for p in PROTOS]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit("error: protoc failed: " + result.stderr.strip())
    sys.path.insert(0, out_dir)


def build_events(pb, run):
    """A partner's first facts: itself, a mine, a warehouse, an extracted lot and its shipment."""
    now = pb.timestamp()
    now.GetCurrentTime()
    party, mine, store = "partner-" + run, "mine-" + run, "store-" + run
    lot, shipment = "lot-" + run, "shipment-" + run
    specs = [
        ("party/" + party, "party_registered",
         pb.events.PartyRegistered(party_id=party, name="Example Partner " + run, country="AU")),
        ("facility/" + mine, "facility_registered",
         pb.events.FacilityRegistered(facility_id=mine, operator_party_id=party, country="AU",
                                      subdivision="AU-WA", kind=pb.events.FACILITY_KIND_MINE,
                                      name="Example rare-earth mine")),
        ("facility/" + store, "facility_registered",
         pb.events.FacilityRegistered(facility_id=store, operator_party_id=party, country="MY",
                                      subdivision="MY-06", kind=pb.events.FACILITY_KIND_WAREHOUSE,
                                      name="Example bonded store")),
        ("lot/" + lot, "lot_extracted",
         pb.events.LotExtracted(lot_id=lot, material=pb.events.MATERIAL_RARE_EARTH_ORE,
                                hs_code="253090", mass_g=2_000_000, facility_id=mine)),
        ("shipment/" + shipment, "shipment_dispatched",
         pb.events.ShipmentDispatched(shipment_id=shipment, from_facility_id=mine,
                                      to_facility_id=store, declared_origin="AU",
                                      declared_hs_code="253090",
                                      items=[pb.events.ShipmentItem(lot_id=lot,
                                                                    mass_g=2_000_000)])),
        ("shipment/" + shipment, "shipment_arrived",
         pb.events.ShipmentArrived(shipment_id=shipment, facility_id=store)),
    ]
    events = []
    for i, (subject, field, payload) in enumerate(specs, 1):
        event = pb.events.Event(event_id="%s-%02d" % (run, i), subject=subject, actor=party)
        event.event_time.CopyFrom(now)
        getattr(event, field).CopyFrom(payload)
        events.append(event)
    return events, lot


def print_profile(profile, stage_name, role_name):
    print("  customs origin: %s" % (profile.customs_origin or "unknown"))
    for stage in profile.stages:
        shares = ", ".join("%s %.1f%%" % (c.key, 100 * c.share) for c in stage.countries)
        name = stage_name(stage.stage)[len("STAGE_"):].lower()
        print("  %-10s coverage %.2f: %s" % (name, stage.coverage, shares))
    route = ", ".join("%s/%s %.2f" % (r.country, role_name(r.role)[len("ROUTE_ROLE_"):].lower(),
                                      r.share) for r in profile.route)
    print("  route: " + route)


def run(args, pb):
    grpc = pb.grpc
    ledger = pb.ledger_grpc.LedgerServiceStub(grpc.insecure_channel(args.ledger))
    provenance = pb.provenance_grpc.ProvenanceServiceStub(grpc.insecure_channel(args.provenance))
    run_id = "example-" + uuid.uuid4().hex[:12]  # fresh ids every run: re-running never collides
    events, lot_id = build_events(pb, run_id)
    request = pb.ledger.AppendRequest(events=events)
    response = ledger.Append(request, timeout=args.timeout)
    for result in response.results:
        print("appended %-22s position %d (stream version %d)" % (result.event_id, result.position,
                                                                  result.stream_version))
    # The event ids are idempotency keys: a retry of the same batch returns the same positions.
    retry = ledger.Append(request, timeout=args.timeout)
    positions = [r.position for r in response.results]
    if not retry.duplicate or [r.position for r in retry.results] != positions:
        raise RuntimeError("a retried Append was not recognised as a duplicate")
    print("retried the batch: duplicate=%s, log size %d" % (retry.duplicate, response.log_size))

    # Read your writes: the provenance views wait until they have folded the whole batch.
    lot = provenance.GetLot(pb.provenance.GetLotRequest(
        lot_id=lot_id, min_position=response.log_size), timeout=args.timeout).lot
    print("lot %s: %d g at %s (%s), status %s" % (lot.lot_id, lot.mass_g, lot.facility_id,
                                                  lot.facility_country,
                                                  pb.provenance.LotStatus.Name(lot.status)))
    trace = provenance.TraceOrigin(pb.provenance.TraceOriginRequest(
        lot_id=lot_id, min_position=response.log_size), timeout=args.timeout)
    print("origin profile (views at position %d):" % trace.view.applied_position)
    print_profile(trace.profile, pb.provenance.Stage.Name, pb.provenance.RouteRole.Name)
    if trace.profile.customs_origin != "AU":
        raise RuntimeError("expected customs origin AU, got '%s'" % trace.profile.customs_origin)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ledger", required=True, help="ledger gRPC address, HOST:PORT")
    parser.add_argument("--provenance", required=True, help="provenance gRPC address, HOST:PORT")
    parser.add_argument("--proto_dir", default=PROTO_DIR, help="the repository's proto/ directory")
    parser.add_argument("--timeout", type=float, default=10.0, help="deadline of each call (s)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="lodestone-stubs-") as out_dir:
        generate_stubs(args.proto_dir, out_dir)
        pb = argparse.Namespace(
            grpc=importlib.import_module("grpc"),
            timestamp=importlib.import_module("google.protobuf.timestamp_pb2").Timestamp,
            events=importlib.import_module("lodestone.v1.events_pb2"),
            ledger=importlib.import_module("lodestone.v1.ledger_pb2"),
            ledger_grpc=importlib.import_module("lodestone.v1.ledger_pb2_grpc"),
            provenance=importlib.import_module("lodestone.v1.provenance_pb2"),
            provenance_grpc=importlib.import_module("lodestone.v1.provenance_pb2_grpc"))
        try:
            run(args, pb)
        except pb.grpc.RpcError as error:
            sys.exit("error: %s: %s" % (error.code().name, error.details()))
        except RuntimeError as error:
            sys.exit("error: %s" % error)
    return 0


if __name__ == "__main__":
    sys.exit(main())
