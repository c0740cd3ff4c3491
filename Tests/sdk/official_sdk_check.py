#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Drives dehplan's fake cloud with the official Huawei Cloud Python SDK, unchanged:
list Dedicated Hosts, migrate a server, poll its job, and be refused with a wrong secret.
Usage: official_sdk_check.py ENDPOINT PROJECT_ID AK SK SERVER_ID TARGET_DEH"""
import sys
import time

from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
from huaweicloudsdkdeh.v1 import DeHClient, ListDedicatedHostsRequest, ShowDedicatedHostRequest
from huaweicloudsdkecs.v2 import (EcsClient, MigrateServerOption, MigrateServerRequest, MigrateServerRequestBody,
                                  ShowJobRequest, ShowServerRequest)

endpoint, project, ak, sk, server_id, target = sys.argv[1:7]
passed = failed = 0


def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print(f"ok   {name}")
    else:
        failed += 1
        print(f"FAIL {name} {detail}")


def clients(secret):
    creds = BasicCredentials(ak, secret, project)
    dehc = DeHClient.new_builder().with_credentials(creds).with_endpoint(endpoint).build()
    ecsc = EcsClient.new_builder().with_credentials(creds).with_endpoint(endpoint).build()
    return dehc, ecsc


deh, ecs = clients(sk)
hosts = deh.list_dedicated_hosts(ListDedicatedHostsRequest()).dedicated_hosts
check("list dedicated hosts", len(hosts) > 0 and any(h.dedicated_host_id == target for h in hosts), f"{len(hosts)} hosts")
detail = deh.show_dedicated_host(ShowDedicatedHostRequest(dedicated_host_id=target)).dedicated_host
check("show dedicated host", detail.dedicated_host_id == target)

body = MigrateServerRequestBody(migrate=MigrateServerOption(dedicated_host_id=target))
job_id = ecs.migrate_server(MigrateServerRequest(server_id=server_id, body=body)).job_id
check("migrate accepted", bool(job_id))
status = None
for _ in range(100):
    status = ecs.show_job(ShowJobRequest(job_id=job_id)).status
    if status in ("SUCCESS", "FAIL"):
        break
    time.sleep(0.1)
check("job succeeded", status == "SUCCESS", status)
server = ecs.show_server(ShowServerRequest(server_id=server_id)).server
hints = server.osscheduler_hints
check("server on target", hints is not None and target in (hints.dedicated_host_id or []), str(hints))

_, wrong = clients(sk + "x")
try:
    wrong.show_server(ShowServerRequest(server_id=server_id))
    check("wrong secret refused", False, "request succeeded")
except ClientRequestException as e:
    check("wrong secret refused", e.status_code == 401, str(e.status_code))

print(f"sdk: {passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
