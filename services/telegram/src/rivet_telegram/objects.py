"""Reading the attachments' files: the attachments service names the object (as the user, so
its organization scope and roles apply), the bot reads it from the ``ATTACHMENTS`` object store
(its NATS user may read that bucket, never write it)."""

import logging
from uuid import UUID

from nats.js.errors import BucketNotFoundError

from rivet_contracts import ServiceError
from rivet_contracts.attachments import Rendition
from rivet_runtime.uploads import UploadStore

from .rivet import RivetError, RivetUnavailable, UserApi

log = logging.getLogger(__name__)


async def read_file(
    api: UserApi, files: UploadStore, attachment_id: UUID, rendition: Rendition
) -> bytes | None:
    """One rendition of an attachment; None when it cannot be read now (gone, not allowed,
    the store or the service not answering): the caller shows what it has without it."""
    try:
        found = await api.attachment_file(attachment_id, rendition)
        return await files.get(found.object_key)
    except (RivetError, RivetUnavailable, ServiceError, BucketNotFoundError) as exc:
        log.warning("%s of attachment %s not read: %s", rendition.value, attachment_id, exc)
        return None
