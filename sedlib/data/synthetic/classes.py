"""Facts about the 25 TUT classes that the synthetic data set imitates.

Source: the development metadata of the study's data set, Imoto's group's
``meta/meta_development.txt`` (repository KeisukeImoto/metadata_SEDandASC01,
commit 6eb571bbbe6c88e9caaae04274aa6a615e4207ed), 4,675 events in 112 files.
Computed once with ``sedlib.data.meta.read_meta`` and pandas:

- ``dev_events``: events of the class per scene;
- ``log_mu`` / ``log_sigma``: mean and standard deviation of the natural log
  of the event durations in seconds (durations below 20 ms raised to 20 ms);
- ``max_s``: the longest event in seconds.

Scene minutes: the office files are 78 x 30 s = 39 min; the other scenes'
lengths are the last event time per file, scaled so that the total is the
paper's 192 min (evaluation: 74 min, 13 of them office: the size of
the TUT evaluation data sets, which the paper does not use).
"""

from __future__ import annotations

from dataclasses import dataclass

SCENES = ("city_center", "home", "office", "residential_area")

#: Minutes of audio per scene in the development and evaluation sets.
DEV_SCENE_MINUTES = {"city_center": 59.9, "home": 41.9, "office": 39.0, "residential_area": 51.2}
EVAL_SCENE_MINUTES = {"city_center": 24.7, "home": 18.1, "office": 13.0, "residential_area": 18.3}


@dataclass(frozen=True)
class ClassFacts:
    """Statistics of one sound event class in the real development data."""

    label: str
    log_mu: float
    log_sigma: float
    max_s: float
    dev_events: dict[str, int]

    def rate_per_minute(self, scene: str) -> float:
        """Events per minute of audio of ``scene`` in the development data."""
        return self.dev_events.get(scene, 0) / DEV_SCENE_MINUTES[scene]


CLASS_FACTS: tuple[ClassFacts, ...] = (
    ClassFacts("(object) banging", -0.741, 1.066, 2.65, {"residential_area": 15}),
    ClassFacts("(object) impact", -2.086, 1.099, 6.19, {"home": 155, "office": 650}),
    ClassFacts("(object) rustling", -0.681, 1.375, 29.04, {"home": 41, "office": 58}),
    ClassFacts("(object) snapping", -0.961, 0.530, 1.82, {"home": 42}),
    ClassFacts("(object) squeaking", -0.678, 0.296, 0.76, {"office": 3}),
    ClassFacts("bird singing", 0.850, 1.208, 247.95, {"residential_area": 162}),
    ClassFacts("brakes squeaking", 0.242, 0.796, 12.48, {"city_center": 50}),
    ClassFacts("breathing", -1.200, 0.405, 0.78, {"office": 31}),
    ClassFacts("car", 1.697, 0.699, 36.15, {"city_center": 217, "residential_area": 74}),
    ClassFacts("children", 0.514, 0.750, 9.95, {"city_center": 13, "residential_area": 23}),
    ClassFacts("cupboard", -0.734, 0.749, 2.46, {"home": 27}),
    ClassFacts("cutlery", -0.507, 0.638, 3.07, {"home": 56}),
    ClassFacts("dishes", -0.065, 0.753, 7.17, {"home": 94}),
    ClassFacts("drawer", -0.314, 0.425, 1.88, {"home": 23}),
    ClassFacts("fan", 3.401, 0.000, 30.00, {"office": 78}),
    ClassFacts("glass jingling", -0.417, 0.637, 1.67, {"home": 26}),
    ClassFacts("keyboard typing", -1.872, 0.775, 3.06, {"office": 1425}),
    ClassFacts("large vehicle", 2.452, 0.697, 85.54, {"city_center": 47}),
    ClassFacts("mouse clicking", -2.132, 0.574, 0.59, {"office": 645}),
    ClassFacts("mouse wheeling", -1.944, 0.482, 0.33, {"office": 197}),
    ClassFacts(
        "people talking",
        0.537,
        1.232,
        137.68,
        {"city_center": 75, "office": 103, "residential_area": 41},
    ),
    ClassFacts(
        "people walking",
        0.424,
        1.978,
        106.85,
        {"city_center": 74, "home": 24, "office": 55, "residential_area": 32},
    ),
    ClassFacts("washing dishes", 1.091, 0.835, 19.82, {"home": 60}),
    ClassFacts("water tap running", 1.114, 1.041, 59.12, {"home": 37}),
    ClassFacts("wind blowing", 1.361, 1.034, 26.24, {"residential_area": 22}),
)

FACTS_BY_LABEL = {facts.label: facts for facts in CLASS_FACTS}
