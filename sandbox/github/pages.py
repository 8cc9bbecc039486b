"""GitHub Pages publications: branch builds (legacy sites) and deployments (workflow sites), each settling after
--build-delay seconds into what the Pages host serves.

A build publishes its commit's source folder through Jekyll (`pages_output.py`); it `errored` on a Jekyll error,
or when armed through `/_sandbox/pages/faults`, and the host keeps serving the previous publication. A
deployment (`POST /pages/deployments`, what `actions/deploy-pages` calls) publishes its artifact as it is; it
shows in `/pages/builds` only in the ideal world (`deployments_outside_builds` off). A later publication never
loses to an earlier one that settles after it.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Coroutine
from typing import Any

from sandbox.github import pages_output
from sandbox.github.api import Context
from sandbox.github.pages_host import is_user_site
from sandbox.github.state import Account, PageBuild, PagesDeployment, PagesSite, Repository

_seq = itertools.count(100000)
ERROR_MESSAGE = "Page build failed."
# The states a deployment passes through before `succeed` (schema `pages-deployment-status`).
DEPLOYMENT_STEPS = ("deployment_in_progress", "syncing_files", "finished_file_sync", "updating_pages", "purging_cdn")


def _background(c: Context, work: Coroutine[Any, Any, None]) -> None:
    task = asyncio.get_running_loop().create_task(work)
    c.background.add(task)
    task.add_done_callback(c.background.discard)


def _publish(site: PagesSite, seq: int, commit: str, tree: str | None) -> None:
    if seq >= site.published_seq:
        site.published_seq, site.built_commit, site.served_tree, site.built_at = seq, commit, tree, time.time()


def _settle(build: PageBuild, status: str, error: str | None = None) -> None:
    build.updated = time.time()
    build.duration = int((build.updated - build.created) * 1000)
    build.status, build.error = status, error


def start_build(c: Context, repo: Repository, commit: str, pusher: Account | None) -> PageBuild:
    """A branch build of `commit` (empty: the source branch does not exist) from the site's folder."""
    site = repo.pages
    assert site is not None
    now = time.time()
    build = PageBuild(next(_seq), "building", commit, pusher, now, now, path=site.path)
    site.builds.append(build)
    site.status = "building"
    _background(c, _finish_build(c, repo, site, build))
    return build


async def _finish_build(c: Context, repo: Repository, site: PagesSite, build: PageBuild) -> None:
    await asyncio.sleep(c.state.build_delay)
    if repo.pages is not site:
        _settle(build, "errored", "Pages was disabled during the build.")
        return
    if not build.commit:
        _settle(build, "errored", "The source branch does not exist.")
    elif site.fail_next > 0:
        site.fail_next -= 1
        _settle(build, "errored", ERROR_MESSAGE)
    else:
        base_url = "" if is_user_site(repo) else f"/{repo.name}"
        output = pages_output.branch_site(repo, build.commit, build.path, jekyll_on=c.state.settings.jekyll,
                                          base_url=base_url)
        if isinstance(output, pages_output.BuildError):
            _settle(build, "errored", str(output))
        else:
            _settle(build, "built")
            _publish(site, build.id, build.commit, output)
    if site.builds and site.builds[-1] is build:
        site.status = build.status


def on_push(c: Context, repo: Repository, ref: str, sha: str, pusher: Account | None) -> None:
    """Called after a branch moved (ref update or contents PUT): rebuild when it is the Pages source branch, unless
    the push came from a workflow's GITHUB_TOKEN (no legacy build then: python/python-docs-pl#5,
    seqeralabs/nf-metro#20)."""
    site = repo.pages
    if site is None or site.build_type != "legacy" or ref != f"refs/heads/{site.branch}":
        return
    if pusher is not None and pusher.type == "Bot" and c.state.settings.job_token_pushes_are_silent:
        return
    start_build(c, repo, sha, pusher)


def start_deployment(c: Context, repo: Repository, version: str, tree: str) -> PagesDeployment:
    """A deployment of an artifact (its files as `tree`) for the commit `version`."""
    site = repo.pages
    assert site is not None
    deployment = PagesDeployment(version, next(_seq), tree)
    site.deployments[version] = deployment
    site.status = "building"
    build = None
    if not c.state.settings.deployments_outside_builds:
        now = time.time()
        build = PageBuild(deployment.seq, "building", version, None, now, now)
        site.builds.append(build)
    _background(c, _finish_deployment(c, repo, site, deployment, build))
    return deployment


async def _finish_deployment(c: Context, repo: Repository, site: PagesSite, deployment: PagesDeployment,
                             build: PageBuild | None) -> None:
    for step in DEPLOYMENT_STEPS:
        deployment.status = step
        await asyncio.sleep(c.state.build_delay / len(DEPLOYMENT_STEPS))
    failed = repo.pages is not site or site.fail_next > 0
    if failed and repo.pages is site:
        site.fail_next -= 1
    deployment.status = "deployment_failed" if failed else "succeed"
    if build is not None:
        _settle(build, "errored" if failed else "built", ERROR_MESSAGE if failed else None)
    if not failed:
        _publish(site, deployment.seq, deployment.id, deployment.tree)
    if max(site.deployments.values(), key=lambda d: d.seq) is deployment:
        site.status = "errored" if failed else "built"
