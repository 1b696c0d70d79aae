package cur

import (
	"slices"
	"strings"

	"github.com/netcost/netcost/internal/usage"
)

// The CUR 2.0 columns the reader reads, as the Data Exports table
// dictionary names them (docs.aws.amazon.com/cur/latest/userguide/table-dictionary-cur2.html).
const (
	colItemType      = "line_item_line_item_type"
	colUsageType     = "line_item_usage_type"
	colStart         = "line_item_usage_start_date"
	colEnd           = "line_item_usage_end_date"
	colAmount        = "line_item_usage_amount"
	colCost          = "line_item_unblended_cost"
	colProductCode   = "line_item_product_code"
	colCurrency      = "line_item_currency_code"
	colResource      = "line_item_resource_id"
	colProductRegion = "product_region_code"
)

// requiredColumns are the columns every CUR 2.0 has and the reader needs.
var requiredColumns = []string{colItemType, colUsageType, colStart, colEnd, colAmount, colCost, colProductCode,
	colCurrency}

// legacyColumn is the name a legacy Cost and Usage Report's CSV gives the
// usage type: its columns are category/Name, where CUR 2.0's are
// category_name.
const legacyColumn = "lineItem/UsageType"

// checkColumns returns the error for a data file whose columns (by name)
// lack what the reader needs: one line naming the missing columns, or the
// legacy CUR by name. byResource asks for resource IDs as well.
func checkColumns(file string, has func(string) bool, byResource bool) error {
	if has(legacyColumn) {
		return usage.Errorf("%s is a legacy Cost and Usage Report (its columns are named like %s); netcost reads "+
			"CUR 2.0: create a CUR 2.0 export in AWS Data Exports (see docs/reconcile.md)", file, legacyColumn)
	}
	var missing []string
	for _, c := range requiredColumns {
		if !has(c) {
			missing = append(missing, c)
		}
	}
	if len(missing) > 0 {
		return usage.Errorf("%s is not a CUR 2.0 data file: it has no column %s (an AWS Data Exports CUR 2.0 has them; "+
			"see docs/reconcile.md)", file, strings.Join(missing, ", "))
	}
	if byResource && !has(colResource) {
		return usage.Errorf("%s has no column %s: reading the bill by resource needs an export with resource IDs "+
			"(Data Exports: CUR 2.0, \"Include resource IDs\")", file, colResource)
	}
	return nil
}

// columnIndex looks columns up by name in a header.
func columnIndex(header []string) func(string) int {
	return func(name string) int { return slices.Index(header, name) }
}
