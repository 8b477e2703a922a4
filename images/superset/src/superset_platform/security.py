"""Sign-in with GitLab over OpenID Connect.

Flask-AppBuilder 5.2 knows a fixed list of OAuth providers and GitLab is not one of them, so the
user's details come from GitLab's userinfo endpoint here: its `groups` claim (full paths of the
user's groups) becomes FAB's role keys, which AUTH_ROLES_MAPPING turns into Superset roles.
"""

from __future__ import annotations

from typing import Any

from superset.security import SupersetSecurityManager

#: The provider's name in OAUTH_PROVIDERS; it is also the last part of the callback path.
GITLAB = "gitlab"


def user_info_from_gitlab(claims: dict[str, Any]) -> dict[str, Any]:
    """FAB's user record from GitLab's userinfo claims."""
    username = claims.get("preferred_username") or claims.get("nickname")
    if not username:
        raise ValueError("GitLab's userinfo has no preferred_username: is the 'openid' scope granted to the application?")
    name = (claims.get("name") or username).strip()
    first, _, last = name.partition(" ")
    groups = claims.get("groups") or []
    if not isinstance(groups, list):
        raise ValueError(f"GitLab's userinfo claim 'groups' should be a list of group paths, found {type(groups).__name__}")
    return {
        "username": username,
        "email": claims.get("email", ""),
        "first_name": first,
        "last_name": last,
        "role_keys": [str(g) for g in groups],
    }


class GitLabSecurityManager(SupersetSecurityManager):
    """Superset's security manager, with GitLab as an OAuth provider."""

    def get_oauth_user_info(self, provider: str, resp: dict[str, Any]) -> dict[str, Any]:
        if provider == GITLAB:
            claims = self.appbuilder.sm.oauth_remotes[provider].userinfo(token=resp)
            return user_info_from_gitlab(dict(claims))
        return super().get_oauth_user_info(provider, resp)
