# -*- coding: utf-8 -*-
# Copyright: meshops platform engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The preflight: read-only checks of the clusters before anything is installed. PRIVATE to the collection.

``snapshot`` reads one cluster into a compact, secret-free dict; ``checks`` are pure functions of all snapshots and the
options (unit-tested on dict fixtures); ``access`` is what the install needs from the API (the SelfSubjectAccessReviews);
``versions`` the published support ranges; ``registry`` the ordered checks and their report catalog.
"""
