"""Starts moto's server with the mends that make it answer as AWS does where moto 5.2.5 errs.

Tests, the demo and the benchmark start the emulator through this file (same arguments as
`moto_server`). Each mend is listed in tests/TESTBED-NOTES.md with the AWS behaviour it
restores; none changes what the product sends, only how the test bed judges it.

1. SigV4 over the bytes as sent. Under IAM enforcement moto recomputes a query-protocol
   request's signature over its *parsed* form re-encoded by botocore (spaces as `+`, its own
   ordering). AWS hashes the body exactly as it arrived; the Rust SDK sends spaces as `%20`,
   so any STS/CloudFormation/IAM call whose body holds a space failed with
   SignatureDoesNotMatch. Mend: cache the raw body before werkzeug parses the form, so that
   `request.data` (which moto signs when present) is the bytes on the wire.
2. SigV4 over an empty body. For a REST request without a body (Lambda's GetFunction, any
   GET) moto signs its parsed `data` instead, which for Lambda is a dict of the request's
   headers: the payload hash differs from the empty body's and every such call failed with
   SignatureDoesNotMatch. AWS hashes the empty body. Mend: sign over the raw body always.
3. GetBucketVersioning's XML root. AWS answers `<VersioningConfiguration>`; moto's generic
   serializer writes `<GetBucketVersioningResponse>`, which the SDKs rightly reject.
4. DynamoDB's single-item writes are atomic. AWS applies an UpdateItem (its condition, its
   `ADD`) as one step; moto's server answers requests on threads and its UpdateItem reads
   the item, evaluates the condition, creates a missing item and updates it without a lock,
   so two concurrent conditional counters can both pass the condition or lose an `ADD`.
   Mend: one lock around moto's item writes (UpdateItem, PutItem, DeleteItem).
5. A stack whose resource will not delete ends DELETE_FAILED. AWS refuses to delete an S3
   bucket that holds objects, and a stack deletion that meets such a bucket stops in
   DELETE_FAILED, the stack kept, with a DELETE_FAILED event naming the bucket's logical id.
   moto's S3 backend silently keeps the bucket and its stack deletion ends DELETE_COMPLETE
   (the stack gone). Mend: CloudFormation's delete of a non-empty bucket fails with S3's
   message; the stack records the resource's DELETE_FAILED event, ends DELETE_FAILED and
   stays listed (a later DeleteStack tries again).
6. IAM's policy simulation. moto does not implement SimulatePrincipalPolicy (it answers
   NotImplemented), which `remedy doctor` asks for each account's role. Mend: the role's
   inline and attached policies evaluated with moto's own policy evaluator (the one its IAM
   enforcement uses), per action and resource: `explicitDeny` when a statement denies,
   `allowed` when one allows, else `implicitDeny`. Like moto's enforcement it ignores
   conditions it does not know, permission boundaries and SCPs.
7. Assuming a role that does not exist. moto lets AssumeRole succeed for any ARN ("the
   role does not need to exist") and fails the assumed credentials' later calls with HTTP
   500; AWS refuses the AssumeRole itself (AccessDenied). Mend, under IAM enforcement only
   (without it the tests assume roles they never create): AssumeRole of a role missing
   from its account is AccessDenied.
"""

import sys
import threading

from moto.core import responses as core_responses
from moto.iam import access_control
from moto.s3 import responses as s3_responses
from moto.server import main

_setup_class = core_responses.BaseResponse.setup_class


def _setup_class_keeping_the_raw_body(self, request, *args, **kwargs):
    # Read (and cache) the body before anything parses the form: werkzeug then parses the
    # form from the cached bytes, and `request.data` stays the bytes as sent.
    try:
        request.get_data(cache=True, parse_form_data=False)
    except Exception:  # a request whose body cannot be read is left to moto as before
        pass
    return _setup_class(self, request, *args, **kwargs)


core_responses.BaseResponse.setup_class = _setup_class_keeping_the_raw_body

_create_aws_request = access_control.IAMRequestBase._create_aws_request


def _create_aws_request_over_the_raw_body(self):
    # moto signs `self._body or self._data`: with an empty body, its parsed data. AWS signs
    # the bytes as sent, empty or not (mend 1 keeps them in `self._body`).
    parsed, self._data = self._data, b""
    try:
        return _create_aws_request(self)
    finally:
        self._data = parsed


access_control.IAMRequestBase._create_aws_request = _create_aws_request_over_the_raw_body

_get_bucket_versioning = s3_responses.S3Response.get_bucket_versioning


def _get_bucket_versioning_as_aws(self):
    status, headers, body = _get_bucket_versioning(self)
    if isinstance(body, bytes):
        body = body.decode("utf-8")
    if isinstance(body, str):
        body = body.replace("<GetBucketVersioningResponse", "<VersioningConfiguration").replace(
            "</GetBucketVersioningResponse>", "</VersioningConfiguration>"
        )
    return status, headers, body


s3_responses.S3Response.get_bucket_versioning = _get_bucket_versioning_as_aws

from moto.dynamodb import models as dynamodb_models  # noqa: E402

_item_writes = threading.RLock()


def _atomic(write):
    def one_at_a_time(self, *args, **kwargs):
        with _item_writes:
            return write(self, *args, **kwargs)

    return one_at_a_time


for _name in ("update_item", "put_item", "delete_item"):
    setattr(
        dynamodb_models.DynamoDBBackend,
        _name,
        _atomic(getattr(dynamodb_models.DynamoDBBackend, _name)),
    )

from moto.cloudformation import models as cfn_models  # noqa: E402
from moto.s3 import models as s3_models  # noqa: E402
from moto.utilities.utils import get_partition  # noqa: E402


class _BucketNotEmpty(Exception):
    def __init__(self, bucket):
        super().__init__(
            "The bucket you tried to delete is not empty (Service: S3, Status Code: 409, "
            "Error Code: BucketNotEmpty)"
        )
        self.bucket = bucket


class _StackKept(Exception):
    pass


_delete_bucket_from_cfn = s3_models.FakeBucket.delete_from_cloudformation_json.__func__


def _delete_bucket_as_aws(cls, resource_name, cloudformation_json, account_id, region_name):
    backend = s3_models.s3_backends[account_id][get_partition(region_name)]
    bucket = backend.buckets.get(resource_name)
    if bucket is not None and bucket.keys:
        raise _BucketNotEmpty(resource_name)
    return _delete_bucket_from_cfn(cls, resource_name, cloudformation_json, account_id, region_name)


s3_models.FakeBucket.delete_from_cloudformation_json = classmethod(_delete_bucket_as_aws)


def _stack_delete_as_aws(self):
    self._add_stack_event("DELETE_IN_PROGRESS", resource_status_reason="User Initiated")
    try:
        self.resource_map.delete()
    except _BucketNotEmpty as e:
        logical = next(
            (
                logical_id
                for logical_id, resource in self.resource_map._parsed_resources.items()
                if getattr(resource, "physical_resource_id", None) == e.bucket
            ),
            e.bucket,
        )
        self.events.append(
            cfn_models.Event(
                stack_id=self.stack_id,
                stack_name=self.name,
                logical_resource_id=logical,
                physical_resource_id=e.bucket,
                resource_type="AWS::S3::Bucket",
                resource_status="DELETE_FAILED",
                resource_status_reason=str(e),
                resource_properties=None,
            )
        )
        self._add_stack_event(
            "DELETE_FAILED",
            resource_status_reason=f"The following resource(s) failed to delete: [{logical}]. ",
        )
        self.status = "DELETE_FAILED"
        raise _StackKept()
    self._add_stack_event("DELETE_COMPLETE")
    self.status = "DELETE_COMPLETE"


cfn_models.Stack.delete = _stack_delete_as_aws

_backend_delete_stack = cfn_models.CloudFormationBackend.delete_stack


def _backend_delete_stack_as_aws(self, name_or_stack_id):
    stacks = dict(self.stacks)
    try:
        return _backend_delete_stack(self, name_or_stack_id)
    except _StackKept:
        # The failed stack stays listed, as on AWS.
        self.stacks.clear()
        self.stacks.update(stacks)


cfn_models.CloudFormationBackend.delete_stack = _backend_delete_stack_as_aws

from moto.core.responses import ActionResult  # noqa: E402
from moto.iam import responses as iam_responses  # noqa: E402
from moto.iam.access_control import IAMPolicy, PermissionResult  # noqa: E402


def _simulate_principal_policy(self):
    source = self._get_param("PolicySourceArn") or ""
    actions = self._get_param("ActionNames") or []
    resources = self._get_param("ResourceArns") or ["*"]
    role_name = source.split("/")[-1]
    documents = [
        self.backend.get_role_policy(role_name, name)[1]
        for name in self.backend.list_role_policies(role_name)
    ]
    attached, _ = self.backend.list_attached_role_policies(role_name)
    documents += list(attached)
    results = []
    for action in actions:
        for resource in resources:
            decision = "implicitDeny"
            for document in documents:
                verdict = IAMPolicy(document).is_action_permitted(action, resource)
                if verdict == PermissionResult.DENIED:
                    decision = "explicitDeny"
                    break
                if verdict == PermissionResult.PERMITTED:
                    decision = "allowed"
            results.append(
                {
                    "EvalActionName": action,
                    "EvalResourceName": resource,
                    "EvalDecision": decision,
                    "MatchedStatements": [],
                    "MissingContextValues": [],
                }
            )
    return ActionResult({"EvaluationResults": results, "IsTruncated": False})


iam_responses.IamResponse.simulate_principal_policy = _simulate_principal_policy

from moto import settings as moto_settings  # noqa: E402
from moto.iam.models import iam_backends  # noqa: E402
from moto.sts import models as sts_models  # noqa: E402
from moto.sts.exceptions import STSClientError  # noqa: E402

_assume_role = sts_models.STSBackend.assume_role


def _assume_role_as_aws(self, region_name, role_session_name, role_arn, *args, **kwargs):
    enforced = moto_settings.INITIAL_NO_AUTH_ACTION_COUNT != float("inf")
    parts = role_arn.split(":")
    if enforced and len(parts) == 6 and parts[5].startswith("role/"):
        account, name = parts[4], parts[5].split("/")[-1]
        roles = iam_backends[account][get_partition(region_name)].roles.values()
        if not any(role.name == name for role in roles):
            raise STSClientError(
                "AccessDenied",
                f"User is not authorized to perform: sts:AssumeRole on resource: {role_arn}",
            )
    return _assume_role(self, region_name, role_session_name, role_arn, *args, **kwargs)


sts_models.STSBackend.assume_role = _assume_role_as_aws

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
