#!/usr/bin/env python3
"""EPCIS figures for ops/bench.sh (part 7), Python standard library only; prints, asserts nothing.

capture URL SECONDS CLIENTS MINE: CLIENTS threads each POST /capture 100-event EPCIS documents
  (commissionings of new lots at facility MINE, a Lodestone facility id operated by
  bench-miner) and wait for each
  capture job to finish (as a gRPC client waits for its batch), for SECONDS; prints
  "capture100x<CLIENTS> <documents> <events> <seconds> <events/s> <p50 ms> <p99 ms>".
query URL REQUESTS SIZE: GET /events pages at random positions of a SIZE-event ledger
  (perPage=100, no filter; then a lot filter that matches almost nothing, so each request scans
  its limit); prints "<name> <requests> <p50 ms> <p99 ms> <events per page>" per kind.
"""
import http.client
import json
import random
import sys
import threading
import time
import urllib.parse

DOC_HEAD = ('{"@context": ["https://ref.gs1.org/standards/epcis/epcis-context.jsonld", '
            '{"lodestone": "urn:lodestone:epcis:v1:"}], "type": "EPCISDocument", '
            '"schemaVersion": "2.0", "creationDate": "2026-01-10T10:00:00Z", '
            '"epcisBody": {"eventList": [')
EVENT = ('{{"type": "ObjectEvent", "eventID": "urn:uuid:{uuid}", '
         '"eventTime": "2026-01-05T10:00:00Z", "eventTimeZoneOffset": "+00:00", '
         '"action": "ADD", "bizStep": "commissioning", "epcList": [], '
         '"bizLocation": {{"id": "urn:lodestone:facility:{mine}"}}, '
         '"quantityList": [{{"epcClass": "urn:lodestone:lot:{lot}", "quantity": 12.5, '
         '"uom": "KGM"}}], '
         '"ilmd": {{"lodestone:material": "antimony_ore", "lodestone:hsCode": "261710"}}, '
         '"lodestone:actor": "urn:lodestone:party:bench-miner"}}')


def connection(url):
    parts = urllib.parse.urlsplit(url)
    return http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(p * len(values)))] if values else 0.0


def capture(url, seconds, clients, mine):
    run = random.getrandbits(32)
    latencies, counts, errors = [], [0], []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def client(n):
        conn = connection(url)
        k = 0
        while time.monotonic() < deadline:
            events = []
            for i in range(100):
                serial = (run << 40) | (n << 28) | (k << 7) | i
                uuid = '%08x-0000-4000-8000-%012x' % (run, serial & 0xffffffffffff)
                events.append(EVENT.format(uuid=uuid, mine=mine, lot='b%x-%d-%d-%d' % (run, n, k, i)))
            k += 1
            body = DOC_HEAD + ','.join(events) + ']}}'
            start = time.monotonic()
            conn.request('POST', '/capture', body, {'Content-Type': 'application/ld+json'})
            response = conn.getresponse()
            response.read()
            if response.status == 503:
                time.sleep(0.01)
                continue
            if response.status != 202:
                with lock:
                    errors.append(response.status)
                return
            location = response.getheader('Location')
            wait = 0.0005
            while True:
                conn.request('GET', location)
                job = json.loads(conn.getresponse().read())
                if not job['running']:
                    break
                time.sleep(wait)
                wait = min(wait * 2, 0.02)
            if not job['success']:
                with lock:
                    errors.append(json.dumps(job['errors'])[:300])
                return
            with lock:
                latencies.append(time.monotonic() - start)
                counts[0] += 1

    began = time.monotonic()
    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - began
    if errors:
        print('capture errors:', errors[:3], file=sys.stderr)
    events = counts[0] * 100
    print('capture100x%d %d %d %.1f %.0f %.1f %.1f' % (
        clients, counts[0], events, elapsed, events / elapsed,
        1000 * percentile(latencies, 0.5), 1000 * percentile(latencies, 0.99)))


def query(url, requests, size):
    conn = connection(url)
    for name, params in (('page100', {'perPage': '100'}),
                         ('scan-limited', {'perPage': '100',
                                           'MATCH_anyEPCClass': 'urn:lodestone:lot:no-such-lot'})):
        latencies, returned = [], []
        for _ in range(requests):
            query_params = dict(params, nextPageToken='p%d' % random.randrange(max(1, size)))
            start = time.monotonic()
            conn.request('GET', '/events?' + urllib.parse.urlencode(query_params))
            response = conn.getresponse()
            body = response.read()
            latencies.append(time.monotonic() - start)
            if response.status != 200:
                print('query error', response.status, body[:300], file=sys.stderr)
                return
            returned.append(len(json.loads(body)['epcisBody']['queryResults']['resultsBody']['eventList']))
        print('%s %d %.1f %.1f %.0f' % (name, requests, 1000 * percentile(latencies, 0.5),
                                        1000 * percentile(latencies, 0.99),
                                        sum(returned) / len(returned)))


if __name__ == '__main__':
    if sys.argv[1] == 'capture':
        capture(sys.argv[2], float(sys.argv[3]), int(sys.argv[4]), sys.argv[5])
    else:
        query(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
