package game

// Sketch is a state drawn in a few shapes for the admin dashboard, in the
// game's own units: the dashboard scales Width × Height to its canvas.
type Sketch struct {
	Width  float64 `json:"w"`
	Height float64 `json:"h"`
	Shapes []Shape `json:"shapes"`
}

// Shape is one thing the dashboard draws.
type Shape struct {
	// Kind is "rect" (X, Y, W, H), "circle" (X, Y centre, R), "line" (X, Y
	// to X2, Y2) or "text" (Text at X, Y).
	Kind string  `json:"kind"`
	X    float64 `json:"x"`
	Y    float64 `json:"y"`
	W    float64 `json:"w,omitempty"`
	H    float64 `json:"h,omitempty"`
	R    float64 `json:"r,omitempty"`
	X2   float64 `json:"x2,omitempty"`
	Y2   float64 `json:"y2,omitempty"`
	Text string  `json:"text,omitempty"`
	// Color is a CSS colour; empty takes the player's colour.
	Color string `json:"color,omitempty"`
	// Player is whose shape it is (0: nobody): the dashboard labels the
	// shape with the player's name.
	Player PlayerID `json:"player,omitempty"`
	// Fill draws the shape filled rather than outlined.
	Fill bool `json:"fill,omitempty"`
}

// Rect adds a rectangle.
func (s *Sketch) Rect(x, y, w, h float64, color string, fill bool) {
	s.Shapes = append(s.Shapes, Shape{Kind: "rect", X: x, Y: y, W: w, H: h, Color: color, Fill: fill})
}

// Circle adds a circle; player, when not 0, labels it.
func (s *Sketch) Circle(x, y, r float64, color string, player PlayerID) {
	s.Shapes = append(s.Shapes, Shape{Kind: "circle", X: x, Y: y, R: r, Color: color, Player: player, Fill: true})
}

// Line adds a line.
func (s *Sketch) Line(x, y, x2, y2 float64, color string) {
	s.Shapes = append(s.Shapes, Shape{Kind: "line", X: x, Y: y, X2: x2, Y2: y2, Color: color})
}

// Text adds a label.
func (s *Sketch) Text(x, y float64, text, color string) {
	s.Shapes = append(s.Shapes, Shape{Kind: "text", X: x, Y: y, Text: text, Color: color})
}
