from odoo.tests import HttpCase, tagged


@tagged("post_install", "-at_install")
class TestServiceMenuTour(HttpCase):
    def test_service_menu_shows_the_tree(self):
        """In the browser, admin opens Service and finds the tree in list and form."""
        hq = self.env["service.org.unit"].create(
            {"name": "Tour HQ", "code": "TOUR-HQ", "unit_type": "hq"}
        )
        self.env["service.org.unit"].create(
            {"name": "西客站营业厅 (tour)", "code": "TOUR-1", "parent_id": hq.id}
        )
        self.start_tour("/odoo", "service_base_org_tree_tour", login="admin")
