from . import res_company
from . import res_config_settings
from . import res_users
from . import service_cache_mixin
from . import service_org_unit
