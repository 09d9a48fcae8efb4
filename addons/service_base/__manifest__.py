{
    "name": "Service Base",
    "summary": "Organisation tree (HQ, branches, outlets), service roles and the Service menu",
    "version": "19.0.1.1.0",
    "category": "Services",
    "website": "https://github.com/service-quality-suite/service-quality-suite",
    "author": "Service Quality Suite contributors",
    "maintainers": ["service-quality-suite"],
    "license": "LGPL-3",
    "depends": ["mail", "phone_validation", "web_hierarchy"],
    "data": [
        "security/service_base_groups.xml",
        "security/ir.model.access.csv",
        "security/service_org_unit_security.xml",
        "views/service_org_unit_views.xml",
        "views/res_config_settings_views.xml",
        "views/service_base_menus.xml",
    ],
    "demo": [
        "demo/service_org_unit_demo.xml",
    ],
    "assets": {
        # Debian's +dfsg repack of Odoo strips this video-call blur library; without the
        # removal every backend page load logs "Could not get content" and tours fail.
        "web.assets_backend": [
            ("remove", "mail/static/lib/selfie_segmentation/selfie_segmentation.js"),
        ],
        "web.assets_tests": [
            "service_base/static/tests/tours/*.js",
        ],
    },
    "application": True,
}
