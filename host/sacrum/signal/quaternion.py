"""Quaternion helpers shared by the host stages (Hamilton convention, scalar first).

Arrays of shape (..., 4) as (w, x, y, z); ``q_a_to_b`` rotates vectors from
frame a into frame b: ``v_b = q ⊗ v_a ⊗ q*`` (protocol/SPEC.md §1.2).
"""

from __future__ import annotations

import numpy as np


def quat_normalize(q: np.ndarray) -> np.ndarray:
    """Unit quaternions (NaN rows stay NaN)."""
    q = np.asarray(q, float)
    return q / np.linalg.norm(q, axis=-1, keepdims=True)


def quat_conjugate(q: np.ndarray) -> np.ndarray:
    """q* — the inverse rotation of a unit quaternion."""
    q = np.asarray(q, float)
    return q * np.array([1.0, -1.0, -1.0, -1.0])


def quat_multiply(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Hamilton product p ⊗ q (apply q first, then p), broadcasting over leading axes."""
    p = np.asarray(p, float)
    q = np.asarray(q, float)
    pw, px, py, pz = p[..., 0], p[..., 1], p[..., 2], p[..., 3]
    qw, qx, qy, qz = q[..., 0], q[..., 1], q[..., 2], q[..., 3]
    return np.stack([
        pw * qw - px * qx - py * qy - pz * qz,
        pw * qx + px * qw + py * qz - pz * qy,
        pw * qy - px * qz + py * qw + pz * qx,
        pw * qz + px * qy - py * qx + pz * qw,
    ], axis=-1)


def quat_to_matrix(q: np.ndarray) -> np.ndarray:
    """Rotation matrices (..., 3, 3) of unit quaternions: ``v' = R @ v``."""
    q = quat_normalize(q)
    w, x, y, z = q[..., 0], q[..., 1], q[..., 2], q[..., 3]
    r = np.empty((*q.shape[:-1], 3, 3))      # filled in place: nested np.stack copied twice
    r[..., 0, 0] = 1 - 2 * (y * y + z * z)
    r[..., 0, 1] = 2 * (x * y - w * z)
    r[..., 0, 2] = 2 * (x * z + w * y)
    r[..., 1, 0] = 2 * (x * y + w * z)
    r[..., 1, 1] = 1 - 2 * (x * x + z * z)
    r[..., 1, 2] = 2 * (y * z - w * x)
    r[..., 2, 0] = 2 * (x * z - w * y)
    r[..., 2, 1] = 2 * (y * z + w * x)
    r[..., 2, 2] = 1 - 2 * (x * x + y * y)
    return r


def matrix_to_quat(r: np.ndarray) -> np.ndarray:
    """Unit quaternions (..., 4) of rotation matrices (Shepperd's method), with w >= 0."""
    r = np.asarray(r, float)
    m = r.reshape(-1, 3, 3)
    q = np.empty((m.shape[0], 4))
    diag = np.stack([np.trace(m, axis1=1, axis2=2), m[:, 0, 0], m[:, 1, 1], m[:, 2, 2]], 1)
    k = np.argmax(diag, axis=1)
    for case in range(4):  # divide by the largest component, never by a small one
        i = k == case
        if not i.any():
            continue
        a = m[i]
        if case == 0:
            s = 2.0 * np.sqrt(1.0 + diag[i, 0])
            q[i] = np.stack([0.25 * s, (a[:, 2, 1] - a[:, 1, 2]) / s,
                             (a[:, 0, 2] - a[:, 2, 0]) / s, (a[:, 1, 0] - a[:, 0, 1]) / s], 1)
        elif case == 1:
            s = 2.0 * np.sqrt(1.0 + a[:, 0, 0] - a[:, 1, 1] - a[:, 2, 2])
            q[i] = np.stack([(a[:, 2, 1] - a[:, 1, 2]) / s, 0.25 * s,
                             (a[:, 0, 1] + a[:, 1, 0]) / s, (a[:, 0, 2] + a[:, 2, 0]) / s], 1)
        elif case == 2:
            s = 2.0 * np.sqrt(1.0 + a[:, 1, 1] - a[:, 0, 0] - a[:, 2, 2])
            q[i] = np.stack([(a[:, 0, 2] - a[:, 2, 0]) / s, (a[:, 0, 1] + a[:, 1, 0]) / s,
                             0.25 * s, (a[:, 1, 2] + a[:, 2, 1]) / s], 1)
        else:
            s = 2.0 * np.sqrt(1.0 + a[:, 2, 2] - a[:, 0, 0] - a[:, 1, 1])
            q[i] = np.stack([(a[:, 1, 0] - a[:, 0, 1]) / s, (a[:, 0, 2] + a[:, 2, 0]) / s,
                             (a[:, 1, 2] + a[:, 2, 1]) / s, 0.25 * s], 1)
    return quat_canonical(q).reshape((*r.shape[:-2], 4))


def quat_canonical(q: np.ndarray) -> np.ndarray:
    """The one of ±q with w > 0 (w == 0: the first non-zero component positive)."""
    q = quat_normalize(q)
    lead = np.where(np.abs(q) > 1e-12, q, 0.0)
    first = np.take_along_axis(lead, np.argmax(lead != 0, axis=-1)[..., None], axis=-1)
    return np.where(first < 0, -q, q)


def quat_rotate(q: np.ndarray, v: np.ndarray) -> np.ndarray:
    """``q ⊗ v ⊗ q*`` for vectors v (..., 3) (q normalised first; NaN rows stay NaN).

    As ``v + 2w (u × v) + 2 u × (u × v)`` with u the vector part, written out
    component-wise: np.cross costs more than the arithmetic on short chunks.
    """
    q = quat_normalize(q)
    v = np.asarray(v, float)
    w, ux, uy, uz = q[..., 0], q[..., 1], q[..., 2], q[..., 3]
    vx, vy, vz = v[..., 0], v[..., 1], v[..., 2]
    tx = 2.0 * (uy * vz - uz * vy)
    ty = 2.0 * (uz * vx - ux * vz)
    tz = 2.0 * (ux * vy - uy * vx)
    return np.stack([
        vx + w * tx + uy * tz - uz * ty,
        vy + w * ty + uz * tx - ux * tz,
        vz + w * tz + ux * ty - uy * tx,
    ], axis=-1)


def quat_angle_rad(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Angle of the rotation between p and q (rad, 0..π), sign of either ignored."""
    d = np.abs(np.sum(quat_normalize(p) * quat_normalize(q), axis=-1))
    return 2.0 * np.arccos(np.clip(d, 0.0, 1.0))


def quat_average(q: np.ndarray) -> np.ndarray:
    """Average orientation of unit quaternions (N, 4), NaN rows ignored (Markley et al. 2007).

    The eigenvector of the largest eigenvalue of sum(q qᵀ): insensitive to the
    sign of each quaternion, exact for identical inputs.
    """
    q = quat_normalize(q)
    q = q[~np.isnan(q).any(axis=1)]
    if not len(q):
        raise ValueError("no valid quaternion to average (all rows NaN)")
    _, vec = np.linalg.eigh(q.T @ q)
    return quat_canonical(vec[:, -1])
