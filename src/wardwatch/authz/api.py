"""HTTP routes for sign-in, self-service, accounts, role bindings and provisioning."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request, Response

from wardwatch.api.guard import (
    CSRF_COOKIE,
    SESSION_COOKIE,
    Caller,
    GuardedRoute,
    authenticated,
    credentials,
    permission,
)
from wardwatch.authz.model import PERMISSIONS
from wardwatch.authz.schemas import (
    AccountRequestCreate,
    AccountRequestView,
    Activation,
    ApprovalResult,
    BindingCreate,
    BindingView,
    Decision,
    LocaleChange,
    LoginRequest,
    LoginResponse,
    MeResponse,
    MfaConfirm,
    MfaEnrollResponse,
    PasswordChange,
    RoleView,
    TokenCreate,
    TokenCreated,
    TokenView,
    UserView,
)
from wardwatch.bootstrap import Container

router = APIRouter(prefix="/api/v1", route_class=GuardedRoute)


def _client(request: Request) -> str:
    host = request.client.host if request.client else "?"
    return f"{host} {request.headers.get('user-agent', '')}"


@router.post("/auth/login", response_model=LoginResponse, tags=["auth"])
def login(
    body: LoginRequest, request: Request, response: Response, container: Container = credentials()
) -> LoginResponse:
    session = container.accounts.login(
        body.username, body.password.get_secret_value(), body.totp, _client(request)
    )
    secure = container.settings.server.cookie_secure
    max_age = container.settings.server.session_max_hours * 3600
    response.set_cookie(
        SESSION_COOKIE,
        session.token,
        max_age=max_age,
        httponly=True,
        secure=secure,
        samesite="strict",
        path="/",
    )
    response.set_cookie(
        CSRF_COOKIE,
        session.info.csrf_token,
        max_age=max_age,
        httponly=False,
        secure=secure,
        samesite="strict",
        path="/",
    )
    return session.response


@router.post("/auth/activate", status_code=204, tags=["auth"])
def activate(body: Activation, container: Container = credentials()) -> Response:
    container.accounts.activate(body)
    return Response(status_code=204)


@router.post("/auth/logout", status_code=204, tags=["auth"])
def logout(caller: Caller = authenticated(allow_mfa_pending=True)) -> Response:
    caller.container.accounts.logout(caller.principal)
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")
    return response


@router.get("/auth/me", response_model=MeResponse, tags=["auth"])
def me(caller: Caller = authenticated(allow_mfa_pending=True)) -> MeResponse:
    pending = caller.session.mfa_pending if caller.session else False
    return caller.container.accounts.me(caller.principal, pending)


@router.post("/auth/mfa/enroll", response_model=MfaEnrollResponse, tags=["auth"])
def mfa_enroll(caller: Caller = authenticated(allow_mfa_pending=True)) -> MfaEnrollResponse:
    return caller.container.accounts.mfa_enroll(caller.principal)


@router.post("/auth/mfa/confirm", status_code=204, tags=["auth"])
def mfa_confirm(body: MfaConfirm, caller: Caller = authenticated(allow_mfa_pending=True)) -> Response:
    caller.container.accounts.mfa_confirm(caller.principal, body.code)
    return Response(status_code=204)


@router.post("/auth/password", status_code=204, tags=["auth"])
def change_password(body: PasswordChange, caller: Caller = authenticated()) -> Response:
    caller.container.accounts.change_password(caller.principal, body)
    return Response(status_code=204)


@router.put("/auth/locale", status_code=204, tags=["auth"])
def set_locale(body: LocaleChange, caller: Caller = authenticated(allow_mfa_pending=True)) -> Response:
    caller.container.accounts.set_locale(caller.principal, body.locale)
    return Response(status_code=204)


@router.get("/auth/tokens", response_model=list[TokenView], tags=["auth"])
def list_tokens(caller: Caller = authenticated()) -> list[TokenView]:
    return caller.container.accounts.list_tokens(caller.principal)


@router.post("/auth/tokens", response_model=TokenCreated, status_code=201, tags=["auth"])
def create_token(body: TokenCreate, caller: Caller = authenticated()) -> TokenCreated:
    return caller.container.accounts.create_token(caller.principal, body)


@router.delete("/auth/tokens/{token_id}", status_code=204, tags=["auth"])
def revoke_token(token_id: str, caller: Caller = authenticated()) -> Response:
    caller.container.accounts.revoke_token(caller.principal, token_id)
    return Response(status_code=204)


@router.get("/roles", response_model=list[RoleView], tags=["accounts"])
def roles(caller: Caller = permission("account.read")) -> list[RoleView]:
    return caller.container.accounts.role_views()


@router.get("/permissions", response_model=list[str], tags=["accounts"])
def permissions(caller: Caller = permission("account.read")) -> list[str]:
    return list(PERMISSIONS)


@router.get("/users", response_model=list[UserView], tags=["accounts"])
def list_users(caller: Caller = permission("account.read")) -> list[UserView]:
    return caller.container.accounts.list_users(caller.principal)


@router.get("/users/{user_id}", response_model=UserView, tags=["accounts"])
def get_user(user_id: str, caller: Caller = permission("account.read")) -> UserView:
    return caller.container.accounts.get_user(caller.principal, user_id)


@router.post("/users/{user_id}/unlock", response_model=UserView, tags=["accounts"])
def unlock_user(user_id: str, caller: Caller = permission("account.manage")) -> UserView:
    return caller.container.accounts.unlock_user(caller.principal, user_id)


@router.post("/users/{user_id}/disable", response_model=UserView, tags=["accounts"])
def disable_user(user_id: str, caller: Caller = permission("account.manage")) -> UserView:
    return caller.container.accounts.disable_user(caller.principal, user_id)


@router.post("/users/{user_id}/enable", response_model=UserView, tags=["accounts"])
def enable_user(user_id: str, caller: Caller = permission("account.manage")) -> UserView:
    return caller.container.accounts.enable_user(caller.principal, user_id)


@router.get("/role-bindings", response_model=list[BindingView], tags=["accounts"])
def list_bindings(
    node_id: str | None = None, user_id: str | None = None, caller: Caller = permission("account.read")
) -> list[BindingView]:
    return caller.container.accounts.list_bindings(caller.principal, node_id, user_id)


@router.post("/role-bindings", response_model=BindingView, status_code=201, tags=["accounts"])
def grant(body: BindingCreate, caller: Caller = permission("role.grant")) -> BindingView:
    return caller.container.accounts.grant(caller.principal, body)


@router.delete("/role-bindings/{binding_id}", status_code=204, tags=["accounts"])
def revoke(binding_id: str, caller: Caller = permission("role.grant")) -> Response:
    caller.container.accounts.revoke(caller.principal, binding_id)
    return Response(status_code=204)


@router.post("/account-requests", response_model=AccountRequestView, status_code=201, tags=["provisioning"])
def request_account(
    body: AccountRequestCreate, caller: Caller = permission("account.request")
) -> AccountRequestView:
    return caller.container.accounts.request_account(caller.principal, body)


@router.get("/account-requests", response_model=list[AccountRequestView], tags=["provisioning"])
def list_requests(
    status: str | None = Query(None, pattern="^(pending|approved|rejected)$"),
    caller: Caller = permission("account.read"),
) -> list[AccountRequestView]:
    return caller.container.accounts.list_requests(caller.principal, status)


@router.get("/account-requests/{request_id}", response_model=AccountRequestView, tags=["provisioning"])
def get_request(request_id: str, caller: Caller = permission("account.read")) -> AccountRequestView:
    return caller.container.accounts.get_request(caller.principal, request_id)


@router.post("/account-requests/{request_id}/approve", response_model=ApprovalResult, tags=["provisioning"])
def approve(
    request_id: str, body: Decision, caller: Caller = permission("account.provision")
) -> ApprovalResult:
    return caller.container.accounts.approve(caller.principal, request_id, body.note)


@router.post(
    "/account-requests/{request_id}/reject", response_model=AccountRequestView, tags=["provisioning"]
)
def reject(
    request_id: str, body: Decision, caller: Caller = permission("account.provision")
) -> AccountRequestView:
    return caller.container.accounts.reject(caller.principal, request_id, body.note)
